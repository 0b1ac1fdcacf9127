"""What each threshold profile cost, and which labels were set aside: the corpus manifest's
`profiles` and `labels` sections (folded from the task records, never by re-reading parts).

Per profile: the thresholds it changes against `web`, its sources (with the category and the
reason each got it), documents and characters cleaned and passing, rejections per quality rule,
and excerpts of rejected documents per rule, picked as the report's other excerpts are (smallest
seeded hash first, so the choice does not depend on part boundaries).
"""

from __future__ import annotations

from corpus.select.funnel import merge_excerpts, reason_stage
from corpus.select.labels import OVERRIDDEN, STALE
from corpus.select.profiles import WEB, profile_thresholds
from kuznia.counts import Counts
from kuznia.stage import StageContext


def _changed(ctx: StageContext) -> dict[str, dict]:
    """Per profile, the thresholds that differ from `web`'s (with both values)."""
    ccfg = ctx.cfg.corpus
    all_th = profile_thresholds(ccfg.thresholds, ccfg.profiles)
    web = all_th[WEB].model_dump(mode="json")
    return {name: {k: {"value": v, "web": web[k]} for k, v in th.model_dump(mode="json").items()
                   if v != web[k]} for name, th in all_th.items()}


def profile_summary(ctx: StageContext, records: dict[str, list[dict]]) -> dict:
    """`{profile: {changed, sources, cleaned, quality, reasons, excerpts}}`."""
    selects = records.get("select", [])
    source_profile = {r["source"]: r for r in selects}
    out: dict[str, dict] = {name: {"changed": changed, "sources": {}, "cleaned": Counts(docs=0, chars=0),
                                   "quality": Counts(docs=0, chars=0), "reasons": Counts(), "excerpts": {}}
                            for name, changed in _changed(ctx).items()}
    for rec in selects:
        p = out[rec["profile"]]
        p["sources"][rec["source"]] = {"category": rec.get("category"), "why": rec.get("profile_why")}
        c = rec["counts"]
        p["cleaned"] += c["cleaned"]
        p["quality"] += c["quality"]
        p["reasons"] += Counts({r: v for r, v in c.get("reasons", {}).items() if reason_stage(r) == "quality"})
    k = ctx.cfg.corpus.excerpts_per_reason
    for rec in records.get("write", []):
        profile = (source_profile.get(rec["source"]) or {}).get("profile")
        if profile is None:
            continue
        mine = {r: [{**e, "source": rec["source"]} for e in items]
                for r, items in rec["excerpts"].items() if reason_stage(r) == "quality"}
        merge_excerpts(out[profile]["excerpts"], mine, k)
    for p in out.values():
        p["sources"] = dict(sorted(p["sources"].items()))
        p["reasons"] = p["reasons"].sorted()
        p["excerpts"] = {r: [{k2: e[k2] for k2 in ("id", "source", "excerpt")} for e in items]
                         for r, items in sorted(p["excerpts"].items())}
    return out


def label_summary(records: dict[str, list[dict]]) -> dict:
    """Labels set aside as stale and the documents kept against a stale LOW label, per source."""
    per = Counts.by([r for r in records.get("select", []) if "labels" in r["counts"]], "source")
    sources = {s: Counts(c.get("labels", {})).sorted() for s, c in per.items()}
    empty = Counts({STALE: {"docs": 0, "chars": 0}, OVERRIDDEN: {"docs": 0, "chars": 0}})
    return {"total": (empty + Counts.total(sources.values())).sorted(), "sources": sources}
