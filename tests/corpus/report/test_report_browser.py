"""The report in a real browser: headless Chromium at 1,400 px loads it with no console errors,
every chart decodes and is not blank, no table scrolls sideways, the cleaning section shows the
clean stage's counts, and the source table sorts when its header is clicked.

Chromium must be installed (`.ci/run` installs Debian's `chromium`); without it this test fails,
it is never skipped. The probe (`browser_probe.py`) records errors from the page's own scripts and
measures each chart's pixel variance; this test's part of it sorts the funnel table and reads the
cleaning table.
"""

from __future__ import annotations

import json
from pathlib import Path

from browser_probe import load_probe, probe_script
from config_sections import sections
from corpus_workdir import build_docs

from corpus.report.build import build_report
from corpus.clean.stage import SPEC as CLEAN
from corpus.dedup.stage import SPEC as DEDUP
from corpus.quality.stage import SPEC as QUALITY
from corpus.select.stage import SPEC
from kuznia.driver import run_stage

PROBE = probe_script(r"""
  var th = document.querySelector('#funnel-table th:nth-child(2)');
  th.click();
  out.sorted = Array.prototype.map.call(document.querySelectorAll('#funnel-table tbody tr'),
    function(r){ return parseFloat(r.cells[1].getAttribute('data-v')); });
  out.clean = {};
  Array.prototype.forEach.call(document.querySelectorAll('#clean-table tbody tr'), function(r){
    out.clean[r.cells[0].querySelector('span').title] = [1, 2, 3].map(function(i){
      return parseFloat(r.cells[i].getAttribute('data-v')); });
  });
""")


def test_report_renders_in_chromium(tmp_path: Path):
    wd = build_docs(tmp_path / "work")
    cfg = sections(corpus={"weights": {"wikipedia": 2.0}})
    for spec in (CLEAN, QUALITY, DEDUP, SPEC):  # the real stages, so every section has its numbers
        run_stage(spec, cfg, wd, log=lambda m: None)
    html = build_report(wd, cfg["corpus"], "test").read_text("utf-8")
    n_imgs = html.count("<img")
    assert n_imgs >= 8
    probe, console = load_probe(html, PROBE, tmp_path)
    assert probe["errors"] == []
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
