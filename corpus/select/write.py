"""The corpus stage's `write` phase: every document's final bucket, and the corpus parts.

Per batch of clean parts: the quality decision (`_select`), the lost duplicates and the source
weight give each document one bucket, written to `_decisions/<source>/<part>`; the kept ones
(a weighted source's repeated in place, in the clean part's order) to `corpus/<source>/<part>`.
A few rejected documents per reason, and the members of the largest clusters, are excerpted
for the manifest and the report.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus.select.config import CorpusConfig
from corpus.select.funnel import excerpt, merge_excerpts
from corpus.select.mixture import MIXTURE_FILE
from corpus.select.rules import copies_for_weight, id_draws, source_weight
from corpus.select.tables import (
    DECISION_SCHEMA,
    DECISIONS_DIR,
    DOWNSAMPLED,
    DUPLICATE,
    DUPLICATES_FILE,
    SELECT_DIR,
    TOP_CLUSTERS_FILE,
    reason_counts,
)
from kuznia.counts import Counts
from kuznia.parts import DOC_SCHEMA, read_table, write_table
from kuznia.stage import StageContext, StageError


def _read_duplicates(ctx: StageContext, source: str) -> pa.Array:
    """Ids of the source's documents that lost the keep-one-per-cluster rule."""
    path = ctx.dir / SELECT_DIR / source / DUPLICATES_FILE
    return read_table(path, columns=["id"]).column("id").combine_chunks()


def inputs(ctx: StageContext, task: dict) -> list[Path]:
    """What a write task reads: its clean and `_select` parts, its source's lost duplicates and
    the largest clusters (whose members it excerpts)."""
    source = task["source"]
    sel = ctx.dir / SELECT_DIR
    return [*(ctx.upstream_dir("clean") / source / n for n in task["parts"]),
            *(sel / source / n for n in task["parts"]),
            sel / source / DUPLICATES_FILE, sel / TOP_CLUSTERS_FILE,
            *([sel / MIXTURE_FILE] if ctx.cfg.corpus.apply_mixture else [])]


def run(ctx: StageContext, task: dict) -> dict:
    """Final decision per document; the kept ones (weighted) -> `corpus/<source>/<part>`."""
    ccfg = ctx.cfg.corpus
    source = task["source"]
    weight = source_weight(source, ccfg.weights)
    if ccfg.apply_mixture:
        mixture = json.loads((ctx.dir / SELECT_DIR / MIXTURE_FILE).read_text("utf-8"))
        weight *= mixture["sources"].get(source, 0.0)
    dups = _read_duplicates(ctx, source)
    top = ctx.dir / SELECT_DIR / TOP_CLUSTERS_FILE
    top_ids = {m["id"] for c in json.loads(top.read_text("utf-8")) for m in c["members"]}
    counts = Counts()
    excerpts: dict[str, list] = {}
    cluster_excerpts: dict[str, str] = {}
    for name in task["parts"]:
        docs = read_table(ctx.upstream_dir("clean") / source / name)
        sel = read_table(ctx.dir / SELECT_DIR / source / name)
        ids = docs.column("id").combine_chunks()
        if not sel.column("id").combine_chunks().equals(ids):
            raise StageError(f"{ctx.dir / SELECT_DIR / source / name} does not match clean/{source}/"
                             f"{name}; clean changed during the run: re-run `kuznia stage corpus --force`")
        reason = sel.column("reason").combine_chunks()
        is_dup = pc.and_(pc.is_null(reason), pc.is_in(ids, value_set=dups))
        reason = pc.if_else(is_dup, pa.scalar(DUPLICATE), reason)
        after_dedup = np.asarray(reason.is_null().to_numpy(zero_copy_only=False), bool)
        copies = after_dedup.astype(np.int32)
        if weight != 1.0:
            kept_ids = ids.filter(pa.array(after_dedup)).to_pylist()
            copies[after_dedup] = copies_for_weight(kept_ids, weight, ccfg.seed)
        down = after_dedup & (copies == 0)
        reason = pc.if_else(pa.array(down), pa.scalar(DOWNSAMPLED), reason)
        chars = sel.column("chars").to_numpy()
        write_table(ctx.dir / DECISIONS_DIR / source / name, pa.table(
            {"id": ids, "chars": sel.column("chars"), "label": sel.column("label"), "reason": reason,
             "copies": pa.array(copies, pa.int32())}, schema=DECISION_SCHEMA))
        if copies.any():
            rows = np.repeat(np.arange(len(ids)), copies)
            write_table(ctx.dir / source / name, docs.take(pa.array(rows)).cast(DOC_SCHEMA))
        mine = pc.if_else(pc.is_in(reason, value_set=pa.array([DUPLICATE, DOWNSAMPLED])), reason,
                          pa.scalar(None, pa.string()))  # quality's reasons are counted by `select`
        counts += {"dedup": {"docs": int(after_dedup.sum()), "chars": int(chars[after_dedup].sum())},
                   "corpus": {"docs": int(copies.sum()), "chars": int((chars * copies).sum()),
                              "unique_docs": int((copies > 0).sum())},
                   "reasons": reason_counts(mine, sel.column("chars").combine_chunks())}
        _collect_excerpts(docs, reason, ccfg, excerpts)
        for i in np.flatnonzero(pc.is_in(ids, value_set=pa.array(sorted(top_ids), pa.string()))
                                .to_numpy(zero_copy_only=False)) if top_ids else []:
            cluster_excerpts[ids[int(i)].as_py()] = excerpt(docs.column("text")[int(i)].as_py(),
                                                            ccfg.excerpt_chars)
    return {"source": source, "counts": counts, "excerpts": excerpts, "cluster_excerpts": cluster_excerpts}


def _collect_excerpts(docs: pa.Table, reason: pa.Array, ccfg: CorpusConfig, out: dict) -> None:
    """Up to `excerpts_per_reason` rejected documents per reason, the smallest seeded hashes first
    (so the choice does not depend on part boundaries), merged across tasks in `finish`."""
    k = ccfg.excerpts_per_reason
    valid = np.flatnonzero(reason.is_valid().to_numpy(zero_copy_only=False))
    if k == 0 or len(valid) == 0:
        return
    ids = docs.column("id").take(pa.array(valid)).to_pylist()
    rs = reason.take(pa.array(valid)).to_pylist()
    h = id_draws(ids, ccfg.seed)
    by_reason: dict[str, list] = {}
    for j in np.argsort(h, kind="stable"):
        lst = by_reason.setdefault(rs[j], [])
        if len(lst) < k:
            text = docs.column("text")[int(valid[j])].as_py()
            lst.append({"id": ids[j], "hash": float(h[j]), "excerpt": excerpt(text, ccfg.excerpt_chars)})
    merge_excerpts(out, by_reason, k)
