"""The corpus stage's `clusters` phase: one keeper per duplicate cluster, the losers listed.

The only global decision of the stage, and a small one: it reads the `_select` rows of the
clustered documents only (their ids from `dedup/clusters.parquet`), picks each cluster's keeper
by the rule of `rules.pick_keepers`, and writes the members that passed quality but lost as
`_select/<source>/duplicates.parquet`, plus the largest clusters for the report.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from corpus.select.mixture import MIXTURE_FILE, mixture_factors
from corpus.select.rules import pick_keepers
from corpus.select.tables import (
    DUPLICATE,
    DUPLICATES_FILE,
    SELECT_DIR,
    SELECT_SCHEMA,
    TOP_CLUSTERS_FILE,
)
from kuznia.files import write_json_atomic
from kuznia.parts import list_parts, list_sources, read_table, write_table
from kuznia.stage import StageContext, StageError

CLUSTERS_FILE = "clusters.parquet"  # the dedup stage's table of clustered documents


def plan(ctx: StageContext) -> list[dict]:
    """One task: the keeper decision needs every cluster's members at once."""
    return [{"id": "clusters"}]


def _cluster_members(ctx: StageContext, clusters: pa.Table) -> pa.Table:
    """`id, cluster_id, source, passes, label, chars` of every clustered document."""
    keys = clusters.column("id").combine_chunks()
    pieces = []
    for path in list_parts(ctx.dir / SELECT_DIR):
        t = read_table(path)
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
    # A stale label (cleaning changed the document) ranks as no label.
    label = pc.if_else(pc.fill_null(joined.column("label_stale"), False),
                       pa.scalar(None, pa.string()), joined.column("label"))
    joined = joined.set_column(joined.column_names.index("label"), "label", label)
    return joined.append_column("passes", pc.is_null(joined.column("reason")))


def _survivors(ctx: StageContext, lost: pa.Table) -> dict[str, int]:
    """Characters per source that pass quality and are not a lost duplicate."""
    out = {}
    for source in list_sources(ctx.dir / SELECT_DIR):
        passing = 0
        for path in list_parts(ctx.dir / SELECT_DIR, source):
            t = read_table(path, columns=["chars", "reason"])
            passing += pc.sum(t.column("chars").filter(pc.is_null(t.column("reason")))).as_py() or 0
        mine = lost.filter(pc.equal(lost.column("source"), source))
        out[source] = passing - (pc.sum(mine.column("chars")).as_py() or 0)
    return out


def run(ctx: StageContext, task: dict) -> dict:
    """Keepers per cluster; losers that passed quality -> `_select/<source>/duplicates.parquet`."""
    path = ctx.upstream_dir("dedup") / CLUSTERS_FILE
    if not path.exists():
        raise StageError(f"{path} is missing; run `kuznia stage dedup`")
    clusters = read_table(path, columns=["id", "cluster_id", "cluster_size"])
    members = _cluster_members(ctx, clusters)
    keepers = pick_keepers(members, ctx.cfg.corpus.source_priority)
    m = members.join(keepers, "cluster_id", join_type="left outer")
    lost = pc.and_(m.column("passes"), pc.not_equal(m.column("id"), pc.fill_null(m.column("keeper"), "")))
    m = m.set_column(m.column_names.index("reason"), "reason",
                     pc.if_else(lost, pa.scalar(DUPLICATE), m.column("reason")))
    dups = m.filter(lost).select(["id", "source", "cluster_id", "keeper"])
    dup_counts: dict[str, int] = {}
    for source in list_sources(ctx.dir / SELECT_DIR):
        mine = dups.filter(pc.equal(dups.column("source"), source)).drop_columns(["source"])
        mine = mine.sort_by([("id", "ascending")])
        write_table(ctx.dir / SELECT_DIR / source / DUPLICATES_FILE, mine)
        dup_counts[source] = mine.num_rows
    top = _top_clusters(m, ctx.cfg.corpus.top_clusters)
    write_json_atomic(ctx.dir / SELECT_DIR / TOP_CLUSTERS_FILE, top)
    if ctx.cfg.corpus.apply_mixture:
        write_json_atomic(ctx.dir / SELECT_DIR / MIXTURE_FILE,
                          mixture_factors(_survivors(ctx, m.filter(lost)), ctx.cfg.corpus))
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
