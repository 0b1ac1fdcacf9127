"""The planted duplicates of the demo data (data/demo/labels.jsonl) through the dedup library.

Parses the demo mirror with the docs stage's readers (Speakleash and Wikipedia), runs signatures -> bands -> clusters without the clean stage, and checks every
planted exact and near duplicate lands in its original's cluster, and that no two documents the
labels call distinct (`similar_to`) share one. Runs only once data/demo has been built.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import dedup_config

from corpus.dedup.stage import build_clusters, exact_pairs, band_pairs, signature_table, write_pairs
from corpus.dedup.store import SIGNATURES, SignatureParts
from corpus.parts import part_name, write_table
from corpus.sources import speakleash, wikipedia
from corpus.sources.records import Doc

DEMO = Path(__file__).resolve().parents[3] / "data" / "demo"
LABELS = DEMO / "labels.jsonl"


def demo_docs() -> dict[str, str]:
    """Every document of the demo mirror, parsed by the docs stage's own readers."""
    docs = {}
    for f in sorted(DEMO.rglob("*.jsonl.zst")):
        for d in speakleash.iter_docs(f, f.name[: -len(".jsonl.zst")]):
            if isinstance(d, Doc):
                docs[d.id] = d.text
    for f in sorted(DEMO.rglob("*pages-articles.xml.bz2")):
        for d in wikipedia.iter_docs(f):
            if isinstance(d, Doc):
                docs[d.id] = d.text
    return docs


@pytest.mark.skipif(not LABELS.exists(), reason="data/demo not built yet (scripts/demo_data)")
def test_demo_planted_duplicates_are_found(tmp_path):
    docs = demo_docs()
    labels = [json.loads(line) for line in LABELS.read_text("utf-8").splitlines() if line.strip()]
    cfg = dedup_config().dedup
    by_source: dict[str, list[str]] = {}
    for i in sorted(docs):
        by_source.setdefault(i.split("/")[0], []).append(i)
    for source, ids in by_source.items():
        table = signature_table(ids, [docs[i] for i in ids], cfg)
        write_table(tmp_path / SIGNATURES / source / part_name(0), table)
    parts = SignatureParts.open(tmp_path)
    write_pairs(tmp_path / "pairs" / "exact.parquet", *exact_pairs(parts)[:2])
    bands, _ = cfg.lsh_params()
    write_pairs(tmp_path / "pairs" / "bands.parquet", *band_pairs(parts, list(range(bands)), cfg)[:2])
    build_clusters(tmp_path)
    cluster_of = {r["id"]: r["cluster_id"]
                  for r in pq.read_table(tmp_path / "clusters.parquet").to_pylist()}

    def same(a: str, b: str) -> bool:
        return a in cluster_of and cluster_of.get(a) == cluster_of.get(b)

    planted = [lab for lab in labels if lab.get("kind") in ("exact_dup", "near_dup")
               and lab["id"] in docs and lab.get("dup_of") in docs]
    distinct = [lab for lab in labels if lab.get("similar_to") and lab["id"] in docs
                and lab["similar_to"] in docs]
    assert planted, "labels.jsonl lists no duplicates among the demo Speakleash documents"
    missed = [(lab["id"], lab["dup_of"], lab["kind"]) for lab in planted
              if not same(lab["id"], lab["dup_of"])]
    assert missed == []
    merged = [(lab["id"], lab["similar_to"]) for lab in distinct if same(lab["id"], lab["similar_to"])]
    assert merged == []
