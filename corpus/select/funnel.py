"""The corpus funnel: every document of every source followed from the docs stage to the corpus.

Buckets, in order (documents and characters per source):
`read` (records the docs stage saw) -> `fetched` (documents in `docs/`) -> `cleaned` (in `clean/`)
-> `quality` (passing the thresholds) -> `dedup` (not a losing duplicate) -> `corpus` (after
source weights; repeats counted). Every document that falls out between two buckets is counted
under one reason, with the stage that dropped it, so that for every source
`read.docs == corpus.unique_docs + sum(reasons.docs)`; `build_funnel` checks it.

The funnel is a fold: the corpus stage's task records are `Counts` per source (`cleaned`,
`quality`, `dedup`, `corpus`, `reasons`), and the docs stage's per-source counts give `fetched`
and its drops (`dropped_<reason>`, named `docs_<reason>` here: the quality rules have reasons
of the same name, `empty`, `too_long`).
"""

from __future__ import annotations

import json
import re

from corpus.select.tables import DOWNSAMPLED, DUPLICATE, SELECT_DIR, TOP_CLUSTERS_FILE
from kuznia.counts import Counts
from kuznia.stage import StageContext, StageError, read_manifest

FUNNEL_STEPS = ("read", "fetched", "cleaned", "quality", "dedup", "corpus")
DOCS_PREFIX = "docs_"

_WS = re.compile(r"\s+")


def excerpt(text: str, n: int) -> str:
    """The first `n` characters of a text with whitespace runs collapsed ("…" if cut)."""
    flat = _WS.sub(" ", text).strip()
    return flat if len(flat) <= n else flat[: n - 1].rstrip() + "…"


def merge_excerpts(into: dict[str, list], new: dict[str, list], k: int) -> None:
    """Keep, per reason, the `k` excerpts with the smallest hashes (ties: smallest id)."""
    for reason, items in new.items():
        merged = sorted([*into.get(reason, []), *items], key=lambda e: (e["hash"], e["id"]))
        into[reason] = merged[:k]


def reason_stage(reason: str) -> str:
    """The stage that drops documents for `reason`."""
    if reason.startswith(DOCS_PREFIX):
        return "docs"
    return {DUPLICATE: "dedup", DOWNSAMPLED: "corpus"}.get(reason, "quality")


def _docs_counts(ctx: StageContext) -> dict[str, Counts]:
    """Per-source counts of the docs stage's manifest."""
    m = read_manifest(ctx.upstream_dir("docs")) or {}
    return {s: Counts(c) for s, c in ((m.get("counts") or {}).get("sources") or {}).items()}


def _per_source(ctx: StageContext, records: dict[str, list[dict]]) -> dict[str, Counts]:
    """Every funnel step and reason per source: the corpus stage's records plus the docs stage's."""
    per = Counts.by([*records.get("select", []), *records.get("write", [])], "source")
    empty = Counts(docs=0, chars=0)
    for source, dc in _docs_counts(ctx).items():
        f = per.setdefault(source, Counts(cleaned=empty, quality=empty, dedup=empty,
                                          corpus={**empty, "unique_docs": 0}))
        drops = dc.drops()
        f["fetched"] = Counts(docs=dc.get("documents", 0), chars=dc.get("characters"))
        f["read"] = Counts(docs=f["fetched"]["docs"] + sum(drops.values()), chars=None)
        f["reasons"] = f.get("reasons", Counts()) + {
            DOCS_PREFIX + r: {"docs": n, "chars": None} for r, n in drops.items()}
        if f["cleaned"]["docs"] != f["fetched"]["docs"]:
            raise StageError(f"clean/{source} has {f['cleaned']['docs']} documents but docs/{source} has "
                             f"{f['fetched']['docs']}; clean is stale: run `kuznia stage clean --force`")
        dropped = sum(r["docs"] for r in f.get("reasons", {}).values())
        if f["read"]["docs"] != f["corpus"]["unique_docs"] + dropped:
            raise StageError(f"corpus funnel of {source} does not add up: read {f['read']['docs']} != "
                             f"kept {f['corpus']['unique_docs']} + dropped {dropped} (a bug: report it)")
    return per


def _excerpts(ctx: StageContext, records: dict[str, list[dict]]) -> tuple[dict, list]:
    """Excerpts of rejected documents per reason, and the largest clusters with their members'."""
    excerpts: dict[str, list] = {}
    cluster_text: dict[str, str] = {}
    for rec in records.get("write", []):
        merge_excerpts(excerpts, {r: [{**e, "source": rec["source"]} for e in items]
                                  for r, items in rec["excerpts"].items()},
                       ctx.cfg.corpus.excerpts_per_reason)
        cluster_text.update(rec["cluster_excerpts"])
    top = json.loads((ctx.dir / SELECT_DIR / TOP_CLUSTERS_FILE).read_text("utf-8"))
    for c in top:
        for m in c["members"]:
            m["excerpt"] = cluster_text.get(m["id"], "")
    return ({r: [{k: e[k] for k in ("id", "source", "excerpt")} for e in v]
             for r, v in sorted(excerpts.items())}, top)


def build_funnel(ctx: StageContext, records: dict[str, list[dict]]) -> dict:
    """The corpus stage's manifest summary: counts, the funnel, reasons, excerpts, clusters."""
    per = _per_source(ctx, records)
    funnel = {s: {step: per[s][step] for step in FUNNEL_STEPS} for s in sorted(per)}
    reasons = {s: per[s].get("reasons", Counts()).sorted() for s in sorted(per)}
    total = Counts.total(funnel.values())
    reason_total = Counts.total(reasons.values()).sorted()
    excerpts, top = _excerpts(ctx, records)
    clusters_rec = records["clusters"][0]
    return {
        "counts": {
            "documents": total.get("corpus", {}).get("docs", 0),
            "characters": total.get("corpus", {}).get("chars", 0),
            "unique_documents": total.get("corpus", {}).get("unique_docs", 0),
            "sources": len(funnel),
            "rejected": sum(r["docs"] for r in reason_total.values()),
            "duplicates": reason_total.get(DUPLICATE, {}).get("docs", 0),
            "clusters": clusters_rec["clusters"],
        },
        "funnel": {"total": {step: total[step] for step in FUNNEL_STEPS if step in total},
                   "sources": funnel},
        "reasons": {"total": reason_total, "sources": reasons},
        "reason_stages": {r: reason_stage(r) for r in reason_total},
        "excerpts": excerpts,
        "clusters": {**{k: clusters_rec[k] for k in ("clusters", "clustered_docs", "clusters_with_keeper")},
                     "top": top},
    }
