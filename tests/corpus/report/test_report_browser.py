"""The report in a real browser: headless Chromium at 1,400 px loads it with no console errors,
every chart decodes and is not blank, no table scrolls sideways, the cleaning section shows the
clean stage's counts, and the source table sorts when its header is clicked.

Chromium must be installed (`.ci/run` installs Debian's `chromium`); without it this test fails,
it is never skipped. A probe script is put at the top of a copy of the page: it records errors
(uncaught exceptions, `console.error`) from the page's own scripts, and on `load` draws each
chart into a canvas to measure its pixel variance, then writes its findings into the DOM, which
`--dump-dom` prints.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from config_sections import sections
from corpus_workdir import build_docs

from corpus.report.build import build_report
from corpus.clean.stage import SPEC as CLEAN
from corpus.dedup.stage import SPEC as DEDUP
from corpus.quality.stage import SPEC as QUALITY
from corpus.select.stage import SPEC
from kuznia.driver import run_stage

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")

PROBE = r"""<script>
window.__errors = [];
window.addEventListener('error', function(e){ window.__errors.push('error: ' + e.message); });
(function(){ var orig = console.error; console.error = function(){
  window.__errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
  return orig.apply(console, arguments); }; })();
window.addEventListener('load', function(){
  var charts = [];
  Array.prototype.forEach.call(document.querySelectorAll('img'), function(img){
    var c = document.createElement('canvas'), w = img.naturalWidth, h = img.naturalHeight, v = 0, n = 0;
    if (w > 0 && h > 0) {
      c.width = w; c.height = h;
      var ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
      var d = ctx.getImageData(0, 0, w, h).data, s = 0, s2 = 0;
      for (var i = 0; i < d.length; i += 4) { var y = 0.299*d[i] + 0.587*d[i+1] + 0.114*d[i+2]; s += y; s2 += y*y; n++; }
      v = s2 / n - (s / n) * (s / n);
    }
    charts.push({alt: img.alt, complete: img.complete, width: w, height: h, variance: v});
  });
  var th = document.querySelector('#funnel-table th:nth-child(2)');
  th.click();
  var col = Array.prototype.map.call(document.querySelectorAll('#funnel-table tbody tr'),
    function(r){ return parseFloat(r.cells[1].getAttribute('data-v')); });
  var wide = [];
  Array.prototype.forEach.call(document.querySelectorAll('table'), function(t){
    var box = t.parentElement;
    if (t.scrollWidth > box.clientWidth + 1 || t.getBoundingClientRect().right > window.innerWidth)
      wide.push((t.id || t.className || 'table') + ' ' + t.scrollWidth + '>' + box.clientWidth);
  });
  var page = {scroll: document.documentElement.scrollWidth, width: document.documentElement.clientWidth,
              inner: window.innerWidth};
  var clean = {};
  Array.prototype.forEach.call(document.querySelectorAll('#clean-table tbody tr'), function(r){
    clean[r.cells[0].querySelector('span').title] = [1, 2, 3].map(function(i){
      return parseFloat(r.cells[i].getAttribute('data-v')); });
  });
  var pre = document.createElement('pre'); pre.id = 'probe';
  pre.textContent = JSON.stringify({errors: window.__errors, charts: charts, sorted: col, wide: wide,
                                    page: page, clean: clean});
  document.body.appendChild(pre);
});
</script>"""


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


def test_report_renders_in_chromium(tmp_path: Path):
    wd = build_docs(tmp_path / "work")
    cfg = sections(corpus={"weights": {"wikipedia": 2.0}})
    for spec in (CLEAN, QUALITY, DEDUP, SPEC):  # the real stages, so every section has its numbers
        run_stage(spec, cfg, wd, log=lambda m: None)
    html = build_report(wd, cfg["corpus"], "test").read_text("utf-8")
    n_imgs = html.count("<img")
    assert n_imgs >= 8
    page = tmp_path / "probe.html"
    page.write_text(html.replace("<head>", "<head>" + PROBE, 1), "utf-8")
    dom, log = render(page, tmp_path / "profile")
    m = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.DOTALL)
    assert m, "the probe did not run: " + log[-2000:]
    probe = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                       .replace("&gt;", ">"))
    assert probe["errors"] == []
    console = [line for line in log.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == []
    assert len(probe["charts"]) == n_imgs
    for c in probe["charts"]:
        assert c["complete"] and c["width"] > 100 and c["height"] > 100, c
        assert c["variance"] > 50, c  # a blank or one-colour image has (near) zero variance
    assert probe["sorted"] == sorted(probe["sorted"]) and len(probe["sorted"]) == 3
    assert probe["wide"] == [] and probe["page"]["scroll"] <= probe["page"]["width"], probe
    assert probe["page"]["inner"] == 1400
    rules = json.loads((wd / "clean" / "_manifest.json").read_text())["counts"]["rules"]
    assert probe["clean"] == {r: [v["docs"], v["hits"], v["chars_removed"]] for r, v in rules.items()}
    assert any(v["docs"] for v in rules.values())
