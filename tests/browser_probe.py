"""Headless Chromium for the report tests: find it, load a page, read what a probe script wrote.

Chromium must be installed (`make test` installs Debian's `chromium`); without it a test fails,
it is never skipped. A probe script is put at the top of a copy of the page; on `load` it writes its
findings as JSON into a `<pre id="probe">`, which `--dump-dom` prints.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium() -> str:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("no Chromium found (tried: " + ", ".join(CHROMIUM_NAMES) + "); install it: "
                "`apt-get install -y chromium` (.ci/run does this)")


def render(page: Path, profile: Path) -> tuple[str, str]:
    """(DOM after load, stderr with the console log) of a page in headless Chromium."""
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--window-size=1400,1000", "--hide-scrollbars",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=10000", "--dump-dom", page.as_uri()]
    p = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout, p.stderr


def probe_script(extra: str = "") -> str:
    """A probe that records errors from the page's own scripts (uncaught exceptions,
    `console.error`) and, on `load`, draws each image into a canvas to measure its pixel variance
    (`charts`), lists tables wider than their box (`wide`) and the page's widths (`page`); `extra`
    (JS run at load) may add fields to `out`."""
    return r"""<script>
window.__errors = [];
window.addEventListener('error', function(e){ window.__errors.push('error: ' + e.message); });
(function(){ var orig = console.error; console.error = function(){
  window.__errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
  return orig.apply(console, arguments); }; })();
window.addEventListener('load', function(){
  var out = {errors: window.__errors, charts: [], wide: []};
  Array.prototype.forEach.call(document.querySelectorAll('img'), function(img){
    var c = document.createElement('canvas'), w = img.naturalWidth, h = img.naturalHeight, v = 0, n = 0;
    if (w > 0 && h > 0) {
      c.width = w; c.height = h;
      var ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
      var d = ctx.getImageData(0, 0, w, h).data, s = 0, s2 = 0;
      for (var i = 0; i < d.length; i += 4) { var y = 0.299*d[i] + 0.587*d[i+1] + 0.114*d[i+2]; s += y; s2 += y*y; n++; }
      v = s2 / n - (s / n) * (s / n);
    }
    out.charts.push({alt: img.alt, complete: img.complete, width: w, height: h, variance: v});
  });
""" + extra + r"""
  Array.prototype.forEach.call(document.querySelectorAll('table'), function(t){
    var box = t.parentElement;
    if (t.scrollWidth > box.clientWidth + 1 || t.getBoundingClientRect().right > window.innerWidth)
      out.wide.push((t.id || t.className || 'table') + ' ' + t.scrollWidth + '>' + box.clientWidth);
  });
  out.page = {scroll: document.documentElement.scrollWidth, width: document.documentElement.clientWidth,
              inner: window.innerWidth};
  var pre = document.createElement('pre'); pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def load_probe(html: str, script: str, tmp_path: Path) -> tuple[dict, list[str]]:
    """Render `html` with `script` first in its head; (the probe's JSON, the console's lines)."""
    page = tmp_path / "probe.html"
    page.write_text(html.replace("<head>", "<head>" + script, 1), "utf-8")
    dom, log = render(page, tmp_path / "profile")
    m = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.DOTALL)
    assert m, "the probe did not run: " + log[-2000:]
    found = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
    return found, [line for line in log.splitlines() if "CONSOLE" in line or "Uncaught" in line]
