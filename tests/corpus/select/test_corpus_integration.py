"""The corpus stage after the real clean, quality and dedup stages, on the tiny fixture's docs."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from config_sections import sections
from corpus_workdir import EXPECTED, build_docs

from corpus.clean.stage import SPEC as CLEAN
from corpus.dedup.stage import SPEC as DEDUP
from corpus.quality.stage import SPEC as QUALITY
from corpus.select.stage import SPEC as CORPUS
from kuznia.driver import run_stage
from kuznia.stage import MANIFEST


def test_real_upstream_stages_then_corpus(tmp_path: Path):
    wd = build_docs(tmp_path / "work")
    cfg = sections()
    for spec in (CLEAN, QUALITY, DEDUP, CORPUS):
        run_stage(spec, cfg, wd, log=lambda m: None)
    got = {}
    for p in sorted((wd / "corpus" / "_decisions").glob("*/part-*.parquet")):
        got.update({r["id"]: r["reason"] for r in pq.read_table(p).to_pylist()})
    assert got == EXPECTED
    m = json.loads((wd / "corpus" / MANIFEST).read_text())
    total = m["funnel"]["total"]
    assert total["read"]["docs"] == total["corpus"]["unique_docs"] + m["counts"]["rejected"]
    assert total["fetched"]["docs"] == total["cleaned"]["docs"] == len(EXPECTED)
    assert m["clusters"]["clusters"] == 3 and m["clusters"]["clusters_with_keeper"] == 2
