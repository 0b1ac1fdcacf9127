"""The corpus stage: quality thresholds, one document per duplicate cluster, source weights.

Three phases, so that the only global decision (the keeper of each duplicate cluster) is small:
- `select` (one task per batch of clean parts): the quality thresholds over the part's signals
  (vectorised, `corpus.select.quality_reasons`), written as `_select/<source>/part-NNNNN.parquet`
  (`id, chars, label, reason`; null reason = passes);
- `clusters` (one task): the members of every cluster of `dedup/clusters.parquet`, the keeper by
  the rule (passes, label, source priority, longest, smallest id), and the losers that passed
  quality as `_select/<source>/duplicates.parquet`, plus the largest clusters for the report;
- `write` (one task per batch of parts): `corpus/<source>/part-NNNNN.parquet` (DOC_SCHEMA, the
  clean part's order, kept rows only, a weighted source's documents repeated in place) and
  `_decisions/<source>/part-NNNNN.parquet` (`id, chars, label, reason, copies`): every document
  with its one bucket (null reason = in the corpus).
The manifest's `funnel` follows each source from the docs stage to the corpus, in documents and
characters, and `reasons` counts every document that fell out, by the stage and rule that dropped
it. The report (`corpus/report.py`) is written to `reports/`, which the manifest's outputs leave
out so that `kuznia report` may rewrite it.
"""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import Field, field_validator, model_validator

from corpus import select
from corpus.config_base import Section
from corpus.funnel import build_funnel, excerpt, merge_excerpts
from corpus.parts import DOC_SCHEMA, list_parts, list_sources, write_table
from corpus.quality import Thresholds
from corpus.stage import (
    Phase,
    StageContext,
    StageError,
    StageSpec,
    collect_outputs,
    write_json_atomic,
)

SELECT_DIR = "_select"
DECISIONS_DIR = "_decisions"
REPORTS_DIR = "reports"
DUPLICATES_FILE = "duplicates.parquet"
TOP_CLUSTERS_FILE = "top_clusters.json"
CHARS_SIGNAL = "text_v1_chars"  # the quality stage's character count of the cleaned text

SELECT_SCHEMA = pa.schema([("id", pa.string()), ("chars", pa.int64()), ("label", pa.string()),
                           ("reason", pa.string())])
DECISION_SCHEMA = pa.schema([("id", pa.string()), ("chars", pa.int64()), ("label", pa.string()),
                             ("reason", pa.string()), ("copies", pa.int32())])


class CorpusConfig(Section):
    """Which documents make the corpus: thresholds, the duplicate keeper rule, source weights."""

    thresholds: Thresholds = Field(default_factory=Thresholds)
    """Quality thresholds (`corpus/quality.py`); changing them re-runs this stage only."""
    source_priority: list[str] = Field(default_factory=lambda: ["wikipedia", "speakleash", "local"])
    """Source kinds or names, best first: which copy of a duplicate to keep once quality and the
    Speakleash label tie (an exact name beats its kind; unlisted sources come last). Wikipedia
    first: edited text with stable provenance; crawled local text last."""
    weights: dict[str, float] = Field(default_factory=dict)
    """Per source name or kind (a name beats its kind): 1 keeps a source as is, below 1 keeps that
    share of its documents (seeded hash of the id), above 1 repeats each document `floor(w)` times
    plus once more for a seeded `w - floor(w)` share. Copies keep their id, so the val split (by
    id hash) puts all of them on the same side."""
    target_mixture: dict[str, float] = Field(
        default_factory=lambda: {"speakleash": 0.93, "local": 0.06, "wikipedia": 0.01})
    """Target shares of the corpus characters by source kind or name (APT3: 93 % Speakleash, 6 %
    other, 1 % Wikipedia); the report sets the achieved mixture against it. Informational."""
    seed: int = 1234
    """Seed of the weight sampling and of which rejected documents the report shows."""
    parts_per_task: int = Field(4, ge=1)
    """Clean parts handled by one `select` / `write` task."""
    excerpts_per_reason: int = Field(5, ge=0, le=100)
    """Rejected documents per reason (and source) whose excerpt goes into the manifest/report."""
    excerpt_chars: int = Field(300, ge=20, le=5000)
    """Characters of each excerpt."""
    top_clusters: int = Field(20, ge=0, le=1000)
    """Largest duplicate clusters listed in the manifest/report, with excerpts."""
    report: bool = True
    """Write the HTML + JSON report to `corpus/reports/` at the end of the stage."""

    @field_validator("weights")
    @classmethod
    def _weights_in_range(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: w for k, w in v.items() if not (0.0 <= w <= 1000.0) or math.isnan(w)}
        if bad:
            raise ValueError(f"weights must be in [0, 1000] (0 drops a source), got {bad}")
        return v

    @field_validator("source_priority")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        dup = sorted({s for s in v if v.count(s) > 1})
        if dup:
            raise ValueError(f"source_priority lists {dup} more than once")
        return v

    @model_validator(mode="after")
    def _mixture_sums_to_one(self) -> CorpusConfig:
        total = sum(self.target_mixture.values())
        if self.target_mixture and (abs(total - 1.0) > 1e-6 or min(self.target_mixture.values()) < 0):
            raise ValueError(f"corpus.target_mixture shares must be >= 0 and sum to 1, got {total:g} "
                             f"({self.target_mixture}); use {{}} for no target")
        return self


# --------------------------------------------------------------------------- helpers


def _part_tasks(ctx: StageContext, prefix: str) -> list[dict]:
    """Batches of `parts_per_task` clean parts per source, in source and part order."""
    clean = ctx.upstream_dir("clean")
    n = ctx.cfg.corpus.parts_per_task
    tasks = []
    for source in list_sources(clean):
        names = [p.name for p in list_parts(clean, source)]
        for i in range(0, len(names), n):
            tasks.append({"id": f"{prefix}-{source}-{i // n:05d}", "source": source,
                          "parts": names[i:i + n]})
    return tasks


def _read_signals(ctx: StageContext, source: str, name: str, ids: pa.Array) -> pa.Table:
    """The quality part that mirrors a clean part, checked row for row."""
    path = ctx.upstream_dir("quality") / source / name
    if not path.exists():
        raise StageError(f"{path} is missing for clean part {source}/{name}; "
                         "run `kuznia stage quality --force`")
    signals = pq.read_table(path)
    if not signals.column("id").combine_chunks().equals(ids):
        raise StageError(f"{path} does not mirror clean/{source}/{name} row for row (ids differ); "
                         "run `kuznia stage quality --force`")
    return signals


def _label_column(signals: pa.Table) -> pa.Array:
    """Speakleash's label per row (all null for a source without labels)."""
    if "speakleash_label" in signals.column_names:
        return pc.cast(signals.column("speakleash_label"), pa.string()).combine_chunks()
    return pa.nulls(signals.num_rows, pa.string())


def _count(reasons: pa.Array, chars: pa.Array) -> tuple[dict, dict]:
    """Documents and characters per non-null reason (one group-by, no per-row Python)."""
    t = pa.table({"reason": reasons, "chars": chars}).filter(pc.is_valid(reasons))
    g = t.group_by("reason").aggregate([("chars", "count"), ("chars", "sum")])
    r = g.column("reason").to_pylist()
    return (dict(zip(r, g.column("chars_count").to_pylist())),
            dict(zip(r, g.column("chars_sum").to_pylist())))


# --------------------------------------------------------------------------- phase: select


def plan_select(ctx: StageContext) -> list[dict]:
    """One task per batch of clean parts."""
    tasks = _part_tasks(ctx, "select")
    if not tasks:
        raise StageError(f"{ctx.upstream_dir('clean')} has no parts; run `kuznia stage clean`")
    return tasks


def run_select(ctx: StageContext, task: dict) -> dict:
    """Thresholds over each part's signals -> `_select/<source>/<part>` and counts."""
    source = task["source"]
    clean = ctx.upstream_dir("clean")
    totals: Counter = Counter()
    reason_docs: Counter = Counter()
    reason_chars: Counter = Counter()
    for name in task["parts"]:
        ids = pq.read_table(clean / source / name, columns=["id"]).column("id").combine_chunks()
        signals = _read_signals(ctx, source, name, ids)
        if CHARS_SIGNAL in signals.column_names:  # the quality stage measured the cleaned text
            chars = signals.column(CHARS_SIGNAL).combine_chunks().cast(pa.int64())
        else:
            text = pq.read_table(clean / source / name, columns=["text"]).column("text")
            chars = pc.utf8_length(text).combine_chunks().cast(pa.int64())
        reasons = select.quality_reasons(signals, ctx.cfg.corpus.thresholds)
        out = pa.table({"id": ids, "chars": chars, "label": _label_column(signals), "reason": reasons},
                       schema=SELECT_SCHEMA)
        write_table(ctx.dir / SELECT_DIR / source / name, out)
        passing = pc.is_null(reasons)
        totals["docs"] += len(ids)
        totals["chars"] += pc.sum(chars).as_py() or 0
        totals["passing_docs"] += pc.sum(pc.cast(passing, pa.int64())).as_py() or 0
        totals["passing_chars"] += pc.sum(chars.filter(passing)).as_py() or 0
        d, ch = _count(reasons, chars)
        reason_docs.update(d)
        reason_chars.update(ch)
    return {"source": source, "cleaned": {"docs": totals["docs"], "chars": totals["chars"]},
            "quality": {"docs": totals["passing_docs"], "chars": totals["passing_chars"]},
            "reasons": {"docs": dict(reason_docs), "chars": dict(reason_chars)}}


# --------------------------------------------------------------------------- phase: clusters


def plan_clusters(ctx: StageContext) -> list[dict]:
    """One task: the keeper decision needs every cluster's members at once."""
    return [{"id": "clusters"}]


def _cluster_members(ctx: StageContext, clusters: pa.Table) -> pa.Table:
    """`id, cluster_id, source, passes, label, chars` of every clustered document."""
    keys = clusters.column("id").combine_chunks()
    pieces = []
    for path in list_parts(ctx.dir / SELECT_DIR):
        t = pq.read_table(path)
        t = t.filter(pc.is_in(t.column("id"), value_set=keys))
        if t.num_rows:
            pieces.append(t.append_column("source", pa.array([path.parent.name] * t.num_rows)))
    sel = pa.concat_tables(pieces) if pieces else SELECT_SCHEMA.empty_table().append_column(
        "source", pa.array([], pa.string()))
    if sel.num_rows != clusters.num_rows:
        known = set(sel.column("id").to_pylist())
        lost = [i for i in keys.to_pylist() if i not in known][:5]
        raise StageError(f"dedup/clusters.parquet names {clusters.num_rows - sel.num_rows} document(s) "
                         f"not in clean/ (e.g. {lost}); dedup is stale: run `kuznia stage dedup --force`")
    joined = sel.join(clusters.select(["id", "cluster_id"]), "id")
    return joined.append_column("passes", pc.is_null(joined.column("reason")))


def run_clusters(ctx: StageContext, task: dict) -> dict:
    """Keepers per cluster; losers that passed quality -> `_select/<source>/duplicates.parquet`."""
    path = ctx.upstream_dir("dedup") / "clusters.parquet"
    if not path.exists():
        raise StageError(f"{path} is missing; run `kuznia stage dedup`")
    clusters = pq.read_table(path, columns=["id", "cluster_id", "cluster_size"])
    members = _cluster_members(ctx, clusters)
    keepers = select.pick_keepers(members, ctx.cfg.corpus.source_priority)
    m = members.join(keepers, "cluster_id", join_type="left outer")
    lost = pc.and_(m.column("passes"), pc.not_equal(m.column("id"), pc.fill_null(m.column("keeper"), "")))
    m = m.set_column(m.column_names.index("reason"), "reason",
                     pc.if_else(lost, pa.scalar(select.DUPLICATE), m.column("reason")))
    dups = m.filter(lost).select(["id", "source", "cluster_id", "keeper"])
    dup_counts: dict[str, int] = {}
    for source in list_sources(ctx.dir / SELECT_DIR):
        mine = dups.filter(pc.equal(dups.column("source"), source)).drop_columns(["source"])
        mine = mine.sort_by([("id", "ascending")])
        write_table(ctx.dir / SELECT_DIR / source / DUPLICATES_FILE, mine)
        dup_counts[source] = mine.num_rows
    top = _top_clusters(m, ctx.cfg.corpus.top_clusters)
    write_json_atomic(ctx.dir / SELECT_DIR / TOP_CLUSTERS_FILE, top)
    return {"clusters": len(set(clusters.column("cluster_id").to_pylist())) if clusters.num_rows else 0,
            "clustered_docs": clusters.num_rows, "clusters_with_keeper": keepers.num_rows,
            "duplicates": dup_counts}


def _top_clusters(m: pa.Table, n: int) -> list[dict]:
    """The `n` largest clusters (ties: smallest cluster id) with their members (first 10 by id)."""
    if n == 0 or m.num_rows == 0:
        return []
    sizes = m.group_by("cluster_id").aggregate([("id", "count")]).rename_columns(["cluster_id", "size"])
    sizes = sizes.sort_by([("size", "descending"), ("cluster_id", "ascending")]).slice(0, n)
    wanted = m.filter(pc.is_in(m.column("cluster_id"), value_set=sizes.column("cluster_id")))
    wanted = wanted.sort_by([("cluster_id", "ascending"), ("id", "ascending")])
    rows = wanted.select(["cluster_id", "id", "source", "chars", "label", "reason", "keeper"]).to_pylist()
    by_cluster: dict = {}
    for r in rows:
        by_cluster.setdefault(r["cluster_id"], []).append(r)
    out = []
    for cid, size in zip(sizes.column("cluster_id").to_pylist(), sizes.column("size").to_pylist()):
        mem = by_cluster[cid]
        out.append({"cluster_id": cid, "size": size, "keeper": mem[0]["keeper"],
                    "sources": sorted({r["source"] for r in mem}),
                    "members": [{k: r[k] for k in ("id", "source", "chars", "label", "reason")}
                                for r in mem[:10]]})
    return out


# --------------------------------------------------------------------------- phase: write


def plan_write(ctx: StageContext) -> list[dict]:
    """One task per batch of clean parts (the same batches as `select`)."""
    return _part_tasks(ctx, "write")


def _read_duplicates(ctx: StageContext, source: str) -> pa.Array:
    """Ids of the source's documents that lost the keep-one-per-cluster rule."""
    path = ctx.dir / SELECT_DIR / source / DUPLICATES_FILE
    return pq.read_table(path, columns=["id"]).column("id").combine_chunks()


def run_write(ctx: StageContext, task: dict) -> dict:
    """Final decision per document; the kept ones (weighted) -> `corpus/<source>/<part>`."""
    ccfg = ctx.cfg.corpus
    source = task["source"]
    weight = select.source_weight(source, ccfg.weights)
    dups = _read_duplicates(ctx, source)
    top = ctx.dir / SELECT_DIR / TOP_CLUSTERS_FILE
    top_ids = {m["id"] for c in json.loads(top.read_text("utf-8")) for m in c["members"]}
    stats: Counter = Counter()
    reason_docs: Counter = Counter()
    reason_chars: Counter = Counter()
    excerpts: dict[str, list] = {}
    cluster_excerpts: dict[str, str] = {}
    for name in task["parts"]:
        docs = pq.read_table(ctx.upstream_dir("clean") / source / name)
        sel = pq.read_table(ctx.dir / SELECT_DIR / source / name)
        ids = docs.column("id").combine_chunks()
        if not sel.column("id").combine_chunks().equals(ids):
            raise StageError(f"{ctx.dir / SELECT_DIR / source / name} does not match clean/{source}/"
                             f"{name}; clean changed during the run: re-run `kuznia stage corpus --force`")
        reason = sel.column("reason").combine_chunks()
        is_dup = pc.and_(pc.is_null(reason), pc.is_in(ids, value_set=dups))
        reason = pc.if_else(is_dup, pa.scalar(select.DUPLICATE), reason)
        after_dedup = np.asarray(reason.is_null().to_numpy(zero_copy_only=False), bool)
        copies = after_dedup.astype(np.int32)
        if weight != 1.0:
            kept_ids = ids.filter(pa.array(after_dedup)).to_pylist()
            copies[after_dedup] = select.copies_for_weight(kept_ids, weight, ccfg.seed)
        down = after_dedup & (copies == 0)
        reason = pc.if_else(pa.array(down), pa.scalar(select.DOWNSAMPLED), reason)
        chars = sel.column("chars").to_numpy()
        write_table(ctx.dir / DECISIONS_DIR / source / name, pa.table(
            {"id": ids, "chars": sel.column("chars"), "label": sel.column("label"), "reason": reason,
             "copies": pa.array(copies, pa.int32())}, schema=DECISION_SCHEMA))
        if copies.any():
            rows = np.repeat(np.arange(len(ids)), copies)
            write_table(ctx.dir / source / name, docs.take(pa.array(rows)).cast(DOC_SCHEMA))
        stats["dedup_docs"] += int(after_dedup.sum())
        stats["dedup_chars"] += int(chars[after_dedup].sum())
        stats["corpus_docs"] += int(copies.sum())
        stats["corpus_chars"] += int((chars * copies).sum())
        stats["corpus_unique_docs"] += int((copies > 0).sum())
        d, ch = _count(pc.if_else(pc.is_in(reason, value_set=pa.array(
            [select.DUPLICATE, select.DOWNSAMPLED])), reason, pa.scalar(None, pa.string())),
            sel.column("chars").combine_chunks())
        reason_docs.update(d)
        reason_chars.update(ch)
        _collect_excerpts(docs, reason, ccfg, excerpts)
        for i in np.flatnonzero(pc.is_in(ids, value_set=pa.array(sorted(top_ids), pa.string()))
                                .to_numpy(zero_copy_only=False)) if top_ids else []:
            cluster_excerpts[ids[int(i)].as_py()] = excerpt(docs.column("text")[int(i)].as_py(),
                                                            ccfg.excerpt_chars)
    return {"source": source,
            "dedup": {"docs": stats["dedup_docs"], "chars": stats["dedup_chars"]},
            "corpus": {"docs": stats["corpus_docs"], "chars": stats["corpus_chars"],
                       "unique_docs": stats["corpus_unique_docs"]},
            "reasons": {"docs": dict(reason_docs), "chars": dict(reason_chars)},
            "excerpts": excerpts, "cluster_excerpts": cluster_excerpts}


def _collect_excerpts(docs: pa.Table, reason: pa.Array, ccfg: CorpusConfig, out: dict) -> None:
    """Up to `excerpts_per_reason` rejected documents per reason, the smallest seeded hashes first
    (so the choice does not depend on part boundaries), merged across tasks in `finish`."""
    k = ccfg.excerpts_per_reason
    valid = np.flatnonzero(reason.is_valid().to_numpy(zero_copy_only=False))
    if k == 0 or len(valid) == 0:
        return
    ids = docs.column("id").take(pa.array(valid)).to_pylist()
    rs = reason.take(pa.array(valid)).to_pylist()
    h = select.unit_hash(ids, ccfg.seed)
    by_reason: dict[str, list] = {}
    for j in np.argsort(h, kind="stable"):
        lst = by_reason.setdefault(rs[j], [])
        if len(lst) < k:
            text = docs.column("text")[int(valid[j])].as_py()
            lst.append({"id": ids[j], "hash": float(h[j]), "excerpt": excerpt(text, ccfg.excerpt_chars)})
    merge_excerpts(out, by_reason, k)


# --------------------------------------------------------------------------- finish


def finish(ctx: StageContext, records: dict[str, list[dict]]) -> dict:
    """The funnel per source, reasons, excerpts, largest clusters; then the report."""
    top = json.loads((ctx.dir / SELECT_DIR / TOP_CLUSTERS_FILE).read_text("utf-8"))
    summary = build_funnel(ctx, records, top)
    outputs = [o for o in collect_outputs(ctx.dir) if not o["path"].startswith(REPORTS_DIR + "/")]
    summary["outputs"] = outputs
    if ctx.cfg.corpus.report:
        from corpus.report import build_report

        path = build_report(ctx.work_dir, ctx.cfg, corpus_manifest=summary)
        summary["report"] = str(path.relative_to(ctx.dir))
    return summary


SPEC = StageSpec(
    name="corpus",
    ref="corpus.corpus:SPEC",
    upstream=("docs", "clean", "quality", "dedup"),
    config_keys=("corpus",),
    phases=[Phase("select", plan_select, run_select), Phase("clusters", plan_clusters, run_clusters),
            Phase("write", plan_write, run_write)],
    finish=finish,
)
