"""Benchmark: the corpus report over a synthetic work dir of many sources and documents.

    .venv/bin/python bench/report.py                      # 200 sources, 2,000,000 documents
    .venv/bin/python bench/report.py --sources 20 --docs 100000

Writes stats only (no text): the docs/dedup/corpus/tokenizer/tokens manifests, a quality part
per source with every signal column, the corpus stage's decision tables and a clusters table
(~8 % of documents in clusters, some spanning sources), then times `build_report` and prints
the sizes of `report.html` and `report.json`. Acceptance: under 60 s and under 10 MB.
Baseline, in the same run: just reading the columns the report reads (the I/O floor), and the
ratio of the two.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus.quality.catalogue import SIGNAL_SCHEMA
from corpus.report.build import build_report
from corpus.select.tables import DECISION_SCHEMA
from corpus.select.thresholds import REASONS
from flows.config import PipelineConfig
from kuznia.files import write_json_atomic
from kuznia.parts import write_table

LABELS = np.array(["HIGH", "MEDIUM", "LOW", None], dtype=object)


def source_names(n: int) -> list[str]:
    kinds = ["speakleash"] * max(1, n - 2) + ["wikipedia", "local"]
    names = []
    for i, k in enumerate(kinds[:n]):
        names.append("wikipedia" if k == "wikipedia" else f"{k}.dataset_{i:03d}")
    return sorted(names)


def signals(rng: np.random.Generator, ids: list[str]) -> pa.Table:
    n = len(ids)
    cols: dict[str, pa.Array] = {"id": pa.array(ids, pa.string())}
    for f in SIGNAL_SCHEMA:
        if f.name == "id":
            continue
        if f.name == "text_v1_chars":
            cols[f.name] = pa.array(rng.lognormal(7.5, 1.2, n).astype(np.int64) + 1)
        elif pa.types.is_floating(f.type):
            cols[f.name] = pa.array(rng.beta(2, 8, n).astype(np.float32))
        elif pa.types.is_integer(f.type):
            cols[f.name] = pa.array(rng.integers(0, 400, n), f.type)
        elif pa.types.is_boolean(f.type):
            cols[f.name] = pa.array(np.zeros(n, bool))
        else:
            choice = LABELS if f.name == "speakleash_label" else np.array(["pl", "en", "cs"], dtype=object)
            cols[f.name] = pa.array(choice[rng.integers(0, len(choice), n)], pa.string())
    return pa.table(cols, schema=SIGNAL_SCHEMA)


def build_work_dir(wd: Path, n_sources: int, n_docs: int, seed: int = 0) -> None:
    """The synthetic work dir (not timed)."""
    rng = np.random.default_rng(seed)
    names = source_names(n_sources)
    sizes = rng.multinomial(n_docs, rng.dirichlet(np.ones(n_sources) * 0.7))
    reasons = np.array([None, None, None, None, "duplicate", *REASONS], dtype=object)
    docs_counts, funnel, reason_counts, stages = {}, {}, {}, {}
    all_ids, all_src = [], []
    for s, n in zip(names, sizes):
        n = int(max(n, 1))
        ids = [f"{s}/{i:09d}" for i in range(1, n + 1)]
        q = signals(rng, ids)
        write_table(wd / "quality" / s / "part-00000.parquet", q)
        chars = q.column("text_v1_chars").to_numpy()
        r = reasons[rng.integers(0, len(reasons), n)]
        copies = np.where(pd_isnull(r), 1, 0).astype(np.int32)
        write_table(wd / "corpus" / "_decisions" / s / "part-00000.parquet", pa.table(
            {"id": ids, "chars": chars, "label": q.column("speakleash_label"), "reason": pa.array(r, pa.string()),
             "copies": copies}, schema=DECISION_SCHEMA))
        total = int(chars.sum())
        kept = int(chars[copies > 0].sum())
        docs_counts[s] = {"documents": n, "characters": total, "malformed": 1, "malformed_invalid_json": 1}
        funnel[s] = {"read": {"docs": n + 1, "chars": None}, "fetched": {"docs": n, "chars": total},
                     "cleaned": {"docs": n, "chars": total}, "quality": {"docs": n, "chars": total},
                     "dedup": {"docs": int((copies > 0).sum()), "chars": kept},
                     "corpus": {"docs": int(copies.sum()), "chars": kept, "unique_docs": int((copies > 0).sum())}}
        rc = {"docs_malformed_invalid_json": {"docs": 1, "chars": None}}
        for reason in sorted({x for x in r if x is not None}):
            hit = r == reason
            rc[reason] = {"docs": int(hit.sum()), "chars": int(chars[hit].sum())}
            stages[reason] = "dedup" if reason == "duplicate" else "quality"
        stages["docs_malformed_invalid_json"] = "docs"
        reason_counts[s] = rc
        all_ids.extend(ids[: max(1, n // 12)])
        all_src.extend([s] * max(1, n // 12))
    # clusters of 2..5 documents; a shuffled id order makes many of them span sources
    order = rng.permutation(len(all_ids))
    ids = [all_ids[i] for i in order]
    src = [all_src[i] for i in order]
    sizes_c = rng.integers(2, 6, len(ids))
    cid, pos = [], 0
    while pos < len(ids):
        k = int(sizes_c[pos])
        cid.extend([ids[pos]] * min(k, len(ids) - pos))
        pos += k
    if len(cid) > 1 and cid[-1] != cid[-2]:
        cid[-1] = cid[-2]
    _, inverse, counts = np.unique(np.array(cid, dtype=object), return_inverse=True, return_counts=True)
    write_table(wd / "dedup" / "clusters.parquet", pa.table(
        {"id": ids, "cluster_id": cid, "cluster_size": pa.array(counts[inverse], pa.int32()), "source": src,
         "chars": pa.array(rng.integers(200, 5000, len(ids)), pa.int64()), "exact_dup": np.zeros(len(ids), bool)}))
    total_f = {k: {"docs": sum(f[k]["docs"] for f in funnel.values()),
                   "chars": None if k == "read" else sum(f[k]["chars"] for f in funnel.values())}
               for k in funnel[names[0]]}
    total_f["corpus"]["unique_docs"] = sum(f["corpus"]["unique_docs"] for f in funnel.values())
    totals: dict = {}
    for rc in reason_counts.values():
        for k, v in rc.items():
            t = totals.setdefault(k, {"docs": 0, "chars": None})
            t["docs"] += v["docs"]
            if v["chars"] is not None:
                t["chars"] = (t["chars"] or 0) + v["chars"]
    text = "Przykładowy fragment odrzuconego dokumentu, który pokazuje, co reguła odrzuca. " * 4
    excerpts = {k: [{"id": f"{names[0]}/{i:09d}", "source": names[0], "excerpt": text[:300]} for i in range(5)]
                for k in totals}
    top = [{"cluster_id": f"c{i}", "size": 5, "keeper": f"{names[0]}/{i:09d}", "sources": names[:2],
            "members": [{"id": f"{names[0]}/{i:09d}", "source": names[0], "chars": 1000, "label": "HIGH",
                         "reason": None, "excerpt": text[:300]}] * 5} for i in range(20)]
    write_json_atomic(wd / "docs" / "_manifest.json", {"fingerprint": "docs", "counts": docs_counts})
    write_json_atomic(wd / "quality" / "_manifest.json", {"fingerprint": "quality", "counts": {}})
    write_json_atomic(wd / "dedup" / "_manifest.json", {"fingerprint": "dedup", "counts": {"clusters": len(counts)}})
    write_json_atomic(wd / "corpus" / "_manifest.json", {
        "fingerprint": "corpus", "counts": {}, "funnel": {"total": total_f, "sources": funnel},
        "reasons": {"total": totals, "sources": reason_counts}, "reason_stages": stages,
        "excerpts": excerpts, "clusters": {"clusters": len(counts), "clustered_docs": len(ids),
                                           "clusters_with_keeper": len(counts), "top": top}})
    fert = {"sources": {s: {"chars_per_token": 4.1} for s in names}, "all": {"chars_per_token": 4.1}}
    write_json_atomic(wd / "tokenizer" / "_manifest.json", {"fingerprint": "tok", "fertility": fert})
    write_json_atomic(wd / "tokens" / "_manifest.json", {
        "fingerprint": "tokens", "counts": {"train_tokens": 1, "val_tokens": 1},
        "sources": {s: {"train": {"tokens": 1000}, "val": {"tokens": 10}} for s in names}})


def pd_isnull(a: np.ndarray) -> np.ndarray:
    return np.array([x is None for x in a], dtype=bool)


def read_floor(wd: Path) -> float:
    """Baseline: read every column the report reads, nothing else."""
    t0 = time.perf_counter()
    for p in sorted((wd / "quality").glob("*/*.parquet")):
        pq.read_table(p, columns=[f.name for f in SIGNAL_SCHEMA if f.name != "id"])
    for p in sorted((wd / "corpus" / "_decisions").glob("*/*.parquet")):
        pq.read_table(p, columns=["chars", "label", "copies"])
    pq.read_table(wd / "dedup" / "clusters.parquet")
    json.loads((wd / "corpus" / "_manifest.json").read_text())
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", type=int, default=200)
    ap.add_argument("--docs", type=int, default=2_000_000)
    ap.add_argument("--keep", help="build the work dir here and keep it")
    args = ap.parse_args()
    wd = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="kuznia-bench-report-"))
    try:
        t0 = time.perf_counter()
        build_work_dir(wd, args.sources, args.docs)
        print(f"synthetic work dir: {args.sources} sources, {args.docs:,} documents, "
              f"built in {time.perf_counter() - t0:.1f}s")
        floor = read_floor(wd)
        cfg = PipelineConfig.model_validate({"name": "bench"})  # the shipped defaults
        t0 = time.perf_counter()
        html = build_report(wd, cfg.corpus, cfg.name)
        took = time.perf_counter() - t0
        size_html = html.stat().st_size
        size_json = (html.parent / "report.json").stat().st_size
        print(f"build_report: {took:.2f}s  (limit 60s: {'OK' if took < 60 else 'FAIL'})")
        print(f"report.html {size_html / 1e6:.2f} MB + report.json {size_json / 1e6:.2f} MB = "
              f"{(size_html + size_json) / 1e6:.2f} MB  (limit 10 MB: "
              f"{'OK' if size_html + size_json < 10e6 else 'FAIL'})")
        print(f"baseline (reading the same columns only): {floor:.2f}s; report / baseline = {took / floor:.1f}x")
    finally:
        if not args.keep:
            shutil.rmtree(wd, ignore_errors=True)


if __name__ == "__main__":
    main()
