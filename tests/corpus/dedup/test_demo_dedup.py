"""The planted duplicates of the demo data (data/demo/labels.jsonl) through the dedup library.

Parses the demo mirror with the docs stage's readers (Speakleash and Wikipedia), writes the
documents as they are (no cleaning) as a clean/ folder, runs the whole dedup stage (exact
verification, the default) and checks every planted exact and near duplicate lands in its
original's cluster, and that no two documents the labels call distinct (`similar_to`) share one.
Runs only once data/demo has been built.
"""

from __future__ import annotations

import pyarrow.parquet as pq
from dedup_fixtures import dedup_config, make_clean

from corpus.dedup.stage import SPEC
from kuznia.driver import run_stage


def test_demo_planted_duplicates_are_found(tmp_path, demo):
    docs = {i: d.text for i, d in demo.docs.items()}
    labels = list(demo.labels.values())
    by_source: dict[str, list[tuple[str, str]]] = {}
    for i in sorted(docs):
        by_source.setdefault(i.split("/")[0], []).append((i, docs[i]))
    make_clean(tmp_path, {source: [rows] for source, rows in by_source.items()})
    res = run_stage(SPEC, dedup_config(), tmp_path, log=lambda m: None)
    assert res.manifest["lsh"]["verify"] == "exact" and res.manifest["counts"]["shingled_docs"] > 0
    cluster_of = {r["id"]: r["cluster_id"]
                  for r in pq.read_table(tmp_path / "dedup" / "clusters.parquet").to_pylist()}

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
