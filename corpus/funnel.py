"""The corpus funnel: every document of every source followed from the docs stage to the corpus.

Buckets, in order (documents and characters per source):
`read` (records the docs stage saw) -> `fetched` (documents in `docs/`) -> `cleaned` (in `clean/`)
-> `quality` (passing the thresholds) -> `dedup` (not a losing duplicate) -> `corpus` (after
source weights; repeats counted). Every document that falls out between two buckets is counted
under one reason, with the stage that dropped it, so that for every source
`read.docs == corpus.unique_docs + sum(reasons.docs)`; `finish` checks it.
"""

from __future__ import annotations

import re
from collections import Counter

from corpus.stage import StageContext, StageError, read_manifest

FUNNEL_STEPS = ("read", "fetched", "cleaned", "quality", "dedup", "corpus")
UNATTRIBUTED_CLEAN = "clean_dropped"  # clean dropped documents but its manifest does not say why

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


def docs_source_counts(docs_manifest: dict | None) -> dict[str, dict]:
    """Per-source counts of the docs stage's manifest (`counts.sources.<name>`, or the older
    `counts.<name>` beside `counts.total`)."""
    counts = (docs_manifest or {}).get("counts") or {}
    if isinstance(counts.get("sources"), dict):
        return counts["sources"]
    return {k: v for k, v in counts.items() if k != "total" and isinstance(v, dict)}


def docs_stage_drops(source_counts: dict) -> dict[str, int]:
    """Records the docs stage did not turn into documents, by reason (from its manifest counts:
    `dropped_<reason>` and `malformed_<reason>`, or the plain `malformed` total). Named
    `docs_<reason>`: the quality rules have reasons of the same name (`empty`, `too_long`)."""
    out: dict[str, int] = {}
    for k, v in source_counts.items():
        if k.startswith("dropped_") and v:
            out["docs_" + k[len("dropped_"):]] = int(v)
        elif k.startswith("malformed_") and v:
            out["docs_" + k] = int(v)
    if source_counts.get("malformed") and not any(k.startswith("docs_malformed_") for k in out):
        out["docs_malformed"] = int(source_counts["malformed"])
    return out


def clean_stage_drops(clean_manifest: dict | None, source: str, missing: int) -> dict[str, int]:
    """Documents the clean stage dropped, by reason: from its manifest's per-source
    `dropped_<reason>` counts when they add up to what is missing, else one unattributed reason."""
    if missing <= 0:
        return {}
    counts = ((clean_manifest or {}).get("counts") or {})
    per = counts.get(source) or (counts.get("sources") or {}).get(source) or {}
    named = {"clean_" + k[len("dropped_"):]: int(v) for k, v in per.items()
             if isinstance(v, int) and k.startswith("dropped_") and v}
    if sum(named.values()) == missing:
        return named
    return {UNATTRIBUTED_CLEAN: missing}


def _add(a: dict, b: dict) -> dict:
    return {k: (a.get(k) or 0) + (b.get(k) or 0) if (a.get(k) is not None or b.get(k) is not None)
            else None for k in {*a, *b}}


def build_funnel(ctx: StageContext, records: dict[str, list[dict]], top: list[dict]) -> dict:
    """The manifest summary of the corpus stage from its task records, the docs/clean manifests
    and the largest clusters (`top`, to which it adds the members' excerpts)."""
    docs_m = read_manifest(ctx.upstream_dir("docs")) or {}
    clean_m = read_manifest(ctx.upstream_dir("clean"))
    docs_counts = docs_source_counts(docs_m)
    per: dict[str, dict] = {}
    reasons: dict[str, dict[str, dict]] = {}
    stages: dict[str, str] = {}

    def note(source: str, stage: str, reason: str, docs: int, chars: int | None) -> None:
        stages[reason] = stage
        r = reasons.setdefault(source, {}).setdefault(reason, {"docs": 0, "chars": None})
        r["docs"] += docs
        if chars is not None:
            r["chars"] = (r["chars"] or 0) + chars

    for phase, key in (("select", ("cleaned", "quality")), ("write", ("dedup", "corpus"))):
        for rec in records.get(phase, []):
            f = per.setdefault(rec["source"], {})
            for step in key:
                f[step] = _add(f.get(step, {}), rec[step])
            for reason, n in rec["reasons"]["docs"].items():
                stage = "quality" if phase == "select" else ("dedup" if reason == "duplicate" else "corpus")
                note(rec["source"], stage, reason, n, rec["reasons"]["chars"].get(reason, 0))

    # A source whose every record the docs stage dropped has no clean part and so no task record.
    zero = {"docs": 0, "chars": 0}
    for source in docs_counts:
        if source not in per:
            per[source] = {"cleaned": dict(zero), "quality": dict(zero), "dedup": dict(zero),
                           "corpus": {**zero, "unique_docs": 0}}
    for source, f in per.items():
        dc = docs_counts.get(source) or {}
        fetched_docs = int(dc.get("documents", f["cleaned"]["docs"]))
        f["fetched"] = {"docs": fetched_docs, "chars": dc.get("characters")}
        drops = docs_stage_drops(dc)
        for reason, n in drops.items():
            note(source, "docs", reason, n, None)
        f["read"] = {"docs": fetched_docs + sum(drops.values()), "chars": None}
        missing = fetched_docs - f["cleaned"]["docs"]
        if missing < 0:
            raise StageError(f"clean/{source} has {-missing} more documents than docs/{source}; "
                             "clean is stale: run `kuznia stage clean --force`")
        for reason, n in clean_stage_drops(clean_m, source, missing).items():
            note(source, "clean", reason, n, None)
        dropped = sum(r["docs"] for r in reasons.get(source, {}).values())
        if f["read"]["docs"] != f["corpus"]["unique_docs"] + dropped:
            raise StageError(f"corpus funnel of {source} does not add up: read {f['read']['docs']} != "
                             f"kept {f['corpus']['unique_docs']} + dropped {dropped} (a bug: report it)")

    funnel = {s: {step: per[s][step] for step in FUNNEL_STEPS} for s in sorted(per)}
    total: dict[str, dict] = {}
    for f in funnel.values():
        for step in FUNNEL_STEPS:
            total[step] = _add(total.get(step, {}), f[step])
    reason_total: dict[str, dict] = {}
    for rs in reasons.values():
        for reason, r in rs.items():
            t = reason_total.setdefault(reason, {"docs": 0, "chars": None})
            t["docs"] += r["docs"]
            if r["chars"] is not None:
                t["chars"] = (t["chars"] or 0) + r["chars"]

    excerpts: dict[str, list] = {}
    cluster_text: dict[str, str] = {}
    for rec in records.get("write", []):
        merge_excerpts(excerpts, {r: [{**e, "source": rec["source"]} for e in items]
                                  for r, items in rec["excerpts"].items()},
                       ctx.cfg.corpus.excerpts_per_reason)
        cluster_text.update(rec["cluster_excerpts"])
    clusters_rec = records["clusters"][0]
    for c in top:
        for m in c["members"]:
            m["excerpt"] = cluster_text.get(m["id"], "")
    rejected = Counter({r: v["docs"] for r, v in reason_total.items()})
    return {
        "counts": {
            "documents": total.get("corpus", {}).get("docs", 0),
            "characters": total.get("corpus", {}).get("chars", 0),
            "unique_documents": total.get("corpus", {}).get("unique_docs", 0),
            "sources": len(funnel),
            "rejected": sum(rejected.values()),
            "duplicates": rejected.get("duplicate", 0),
            "clusters": clusters_rec["clusters"],
        },
        "funnel": {"total": total, "sources": funnel},
        "reasons": {"total": dict(sorted(reason_total.items())),
                    "sources": {s: dict(sorted(reasons.get(s, {}).items())) for s in sorted(per)}},
        "reason_stages": dict(sorted(stages.items())),
        "excerpts": {r: [{k: e[k] for k in ("id", "source", "excerpt")} for e in v]
                     for r, v in sorted(excerpts.items())},
        "clusters": {**{k: clusters_rec[k] for k in ("clusters", "clustered_docs", "clusters_with_keeper")},
                     "top": top},
    }
