"""One run of the generator: the mirror, the dump, the truth and a summary, from a seed and a size.

Output layout (what the fetch stage reads with `fetch.speakleash.base_url: <out>/speakleash` and
`fetch.wikipedia.base_url: <out>/wikipedia`, `dump_date: "20240101"`):

    <out>/speakleash/speakleash.json, <name>.manifest, <name>.jsonl.zst
    <out>/wikipedia/plwiki/20240101/plwiki-20240101-pages-articles.xml.bz2
                                    plwiki-20240101-pages-articles-multistream.xml.bz2
                                    plwiki-20240101-pages-articles-multistream-index.txt.bz2
                                    plwiki-20240101-sha1sums.txt
    <out>/truth.parquet     one row per planted document (truth.py)
    <out>/sites.json        each web dataset's chrome lines
    <out>/scale_corpus.json the parameters and what was written (no clock time: files repeat byte for byte)

Sizes are bytes of UTF-8 text (document text; wikitext for the dump): `gb` × 10⁹ in all, 1 % of
it the dump.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
from collections import Counter
from pathlib import Path

from scale_gen import wiki
from scale_gen.plan import MIN_SENTENCES, WIKI_SHARE, plan_datasets
from scale_gen.pools import segment_table
from scale_gen.segments import mean_bytes
from scale_gen.sites import build_chrome
from scale_gen.slots import KIND_NAMES, RATES, assign_copies, plan_slots
from scale_gen.speakleash_out import DatasetWriter, Run, write_index, write_json
from scale_gen.truth import KINDS, TRUTH_FILE, write_truth

SUMMARY_FILE = "scale_corpus.json"
_RUN: Run | None = None  # the run a forked worker writes datasets of


def _write_dataset(d: int) -> tuple[int, dict, list[dict]]:
    manifest, truth = DatasetWriter(_RUN, d).write()
    return d, manifest, truth


def _write_wiki(target_bytes: int) -> tuple[dict, list[dict]]:
    pages, truth = wiki.plan_pages(_RUN.table, target_bytes, _RUN.seed)
    files = wiki.write_dump(pages, _RUN.folder.parent / "wikipedia")
    return {"pages": len(pages), "articles": sum(1 for p in pages if p.ns == 0 and not p.redirect),
            "redirects": sum(1 for p in pages if p.redirect), "non_articles": sum(1 for p in pages if p.ns),
            "wikitext_bytes": sum(len(p.text.encode("utf-8")) for p in pages), "files": files}, truth


def plan_run(gb: float, out: Path, seed: int) -> Run:
    """Everything decided before a byte is written: datasets, sites, every line's slot, every copy's original."""
    base, langs = segment_table()
    table = base.copy()
    plans = plan_datasets(gb * 1e9, seed)
    chromes = {p.index: build_chrome(table, p.name, p.spec.category, p.index) for p in plans if p.spec.web}
    floor = MIN_SENTENCES * mean_bytes(table, "pl")
    slots = [plan_slots(p, seed, floor, chromes[p.index].mean_bytes() if p.index in chromes else 0.0)
             for p in plans]
    assign_copies(slots, seed)
    return Run(table, langs, seed, out / "speakleash", plans, chromes, slots)


def generate(gb: float, out: Path, seed: int = 0, workers: int | None = None) -> dict:
    """Write a corpus of `gb` × 10⁹ text bytes under `out` (replacing what is there) with `workers`
    processes (default: one per CPU; the bytes do not depend on it); returns the summary."""
    global _RUN
    if gb <= 0:
        raise ValueError(f"--gb must be positive, got {gb}")
    out = Path(out)
    for sub in ("speakleash", "wikipedia"):
        shutil.rmtree(out / sub, ignore_errors=True)
    (out / "speakleash").mkdir(parents=True, exist_ok=True)
    _RUN = run = plan_run(gb, out, seed)
    order = sorted(range(len(run.plans)), key=lambda d: -run.plans[d].target_bytes)
    wiki_bytes = int(gb * 1e9 * WIKI_SHARE)
    workers = workers or os.cpu_count() or 1
    try:
        if workers == 1:
            results = [_write_dataset(d) for d in order]
            wiki_summary, wiki_truth = _write_wiki(wiki_bytes)
        else:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                wiki_job = pool.apply_async(_write_wiki, (wiki_bytes,))
                results = list(pool.imap_unordered(_write_dataset, order))
                wiki_summary, wiki_truth = wiki_job.get()
    finally:
        _RUN = None
    results.sort(key=lambda r: r[0])
    manifests = [{**m, "kind": run.plans[d].kind, "sprinkled": run.plans[d].sprinkled} for d, m, _ in results]
    write_index(out / "speakleash", manifests)
    truth = [row for _, _, rows in results for row in rows] + wiki_truth
    write_truth(truth, out / TRUTH_FILE)
    write_json(out / "sites.json", {run.plans[d].name: c.lines for d, c in sorted(run.chromes.items())})
    summary = _summary(gb, seed, manifests, wiki_summary, truth)
    write_json(out / SUMMARY_FILE, summary)
    return summary


def _summary(gb: float, seed: int, manifests: list[dict], wiki_summary: dict, truth: list[dict]) -> dict:
    kinds = Counter(r["kind"] for r in truth)
    docs = sum(m["stats"]["documents"] for m in manifests)
    lines = docs + kinds["malformed"]  # malformed lines are all in Speakleash datasets
    wiki_bytes = wiki_summary["wikitext_bytes"]
    sl_bytes = sum(m["text_bytes"] for m in manifests)
    near = [r for r in truth if r["kind"] == "near_dup"]
    return {
        "gb": gb, "seed": seed,
        "text_bytes": sl_bytes + wiki_bytes,
        "speakleash": {
            "datasets": len(manifests), "documents": docs, "lines": lines, "text_bytes": sl_bytes,
            "file_bytes": sum(m["file_size"] for m in manifests),
            "sprinkled_text_bytes": sum(m["text_bytes"] for m in manifests if m["sprinkled"]),
            "largest_10_share": round(sum(sorted((m["text_bytes"] for m in manifests), reverse=True)[:10])
                                      / max(1, sl_bytes), 4),
            "datasets_by_kind": dict(sorted(Counter(m["kind"] for m in manifests).items())),
            "quality": dict(sorted(sum((Counter(m["stats"]["quality"]) for m in manifests), Counter()).items())),
        },
        "wikipedia": wiki_summary,
        "noise": {k: kinds[k] for k in KINDS},
        "noise_rates_planned": {KIND_NAMES[k]: rate for k, rate in RATES.items()},
        "near_dup": {"cross": sum(1 for r in near if r["cross"]),
                     "jaccard_ge_0.8": sum(1 for r in near if min(r["jaccard"], r["jaccard_raw"]) >= 0.8),
                     "jaccard_lt_0.7": sum(1 for r in near if max(r["jaccard"], r["jaccard_raw"]) < 0.7)},
        "exact_dup_cross": sum(1 for r in truth if r["kind"] == "exact_dup" and r["cross"]),
        "datasets": [{"name": m["name"], "kind": m["kind"], "sprinkled": m["sprinkled"],
                      "documents": m["stats"]["documents"], "text_bytes": m["text_bytes"],
                      "file_size": m["file_size"]} for m in manifests],
    }
