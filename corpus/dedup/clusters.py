"""Candidate pairs -> duplicate clusters: connected components over int32 doc indices.

Edges come from the exact-key buckets and the (verified) LSH band buckets. The components of
size >= 2 are the clusters; each is named by its smallest document id (a string, so
`cluster_id` is stable however documents are numbered), and `dedup/clusters.parquet` lists
every clustered document with what the corpus stage needs to keep one per cluster.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

CLUSTERS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("cluster_id", pa.string(), nullable=False),  # the smallest id in the cluster
        pa.field("cluster_size", pa.int32(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("chars", pa.int64(), nullable=False),  # characters of the cleaned text
        pa.field("exact_dup", pa.bool_(), nullable=False),  # has an exact twin in the cluster
    ]
)


def components(n_docs: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label (int32) of every doc, for the undirected graph of edges (a[i], b[i])."""
    if not len(a):
        return np.arange(n_docs, dtype=np.int32)
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n_docs, n_docs)).tocsr()
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int32, copy=False)


@dataclass
class ClusterDocs:
    """The clustered docs in doc-index order: their index, component label and cluster size."""

    docs: np.ndarray  # int32
    labels: np.ndarray  # int32
    sizes: np.ndarray  # int32


def clustered(labels: np.ndarray) -> ClusterDocs:
    """Docs whose component has two or more members."""
    size = np.bincount(labels)
    docs = np.flatnonzero(size[labels] >= 2).astype(np.int32)
    return ClusterDocs(docs, labels[docs], size[labels[docs]].astype(np.int32))


def cluster_table(cd: ClusterDocs, ids: pa.Array, sources: list[str], source_code: np.ndarray,
                  chars: np.ndarray, exact_dup: np.ndarray) -> pa.Table:
    """The clusters table, sorted by (cluster_id, id); `ids` etc. are aligned with `cd.docs`."""
    t = pa.table({"label": cd.labels, "id": ids})
    order = pc.sort_indices(t, sort_keys=[("label", "ascending"), ("id", "ascending")])
    sorted_labels = cd.labels[order.to_numpy()]
    first = np.ones(len(sorted_labels), dtype=bool)
    first[1:] = sorted_labels[1:] != sorted_labels[:-1]
    sorted_ids = ids.take(order)
    # Each label's smallest id, broadcast back to its members.
    group = np.cumsum(first) - 1
    smallest = sorted_ids.filter(pa.array(first)).take(pa.array(group))
    names = pa.array(sources, pa.string())
    table = pa.table(
        {
            "id": sorted_ids,
            "cluster_id": smallest,
            "cluster_size": pa.array(cd.sizes[order.to_numpy()], pa.int32()),
            "source": names.take(pa.array(source_code[order.to_numpy()].astype(np.int32))),
            "chars": pa.array(chars[order.to_numpy()], pa.int64()),
            "exact_dup": pa.array(exact_dup[order.to_numpy()]),
        },
        schema=CLUSTERS_SCHEMA,
    )
    final = pc.sort_indices(table, sort_keys=[("cluster_id", "ascending"), ("id", "ascending")])
    return table.take(final)


@dataclass
class ClusterSourceStats:
    """Per-source duplicate counts and the cross-source overlap of clusters."""

    docs_in_clusters: dict[str, int] = field(default_factory=dict)
    clusters_touching: dict[str, int] = field(default_factory=dict)
    # overlap[a][b] (a <= b): clusters with docs from both a and b; overlap[a][a]: clusters with
    # two or more docs from a.
    overlap: dict[str, dict[str, int]] = field(default_factory=dict)


def source_stats(cd: ClusterDocs, sources: list[str], source_code: np.ndarray) -> ClusterSourceStats:
    """Count clustered docs per source and clusters spanning each pair of sources."""
    stats = ClusterSourceStats()
    if not len(cd.docs):
        return stats
    codes = source_code.astype(np.int64)
    n_src = len(sources)
    per = np.bincount(codes, minlength=n_src)
    # Unique (cluster, source) cells with their doc counts.
    cell = cd.labels.astype(np.int64) * n_src + codes
    cells, counts = np.unique(cell, return_counts=True)
    cl, src = cells // n_src, cells % n_src
    touching = np.bincount(src, minlength=n_src)
    pairs: Counter[tuple[int, int]] = Counter()
    for s in np.unique(src[counts >= 2]):
        pairs[(int(s), int(s))] = int(((src == s) & (counts >= 2)).sum())
    # Clusters spanning several sources are rare: only those go through the Python loop.
    multi = np.bincount(cl)[cl] > 1
    m_cl, m_src = cl[multi], src[multi]
    for group in np.split(m_src, np.flatnonzero(np.diff(m_cl)) + 1) if len(m_cl) else []:
        g = group.tolist()
        for i in range(len(g)):
            for j in range(i + 1, len(g)):
                pairs[(g[i], g[j])] += 1
    for s in range(n_src):
        if per[s]:
            stats.docs_in_clusters[sources[s]] = int(per[s])
            stats.clusters_touching[sources[s]] = int(touching[s])
    for (i, j), n in sorted(pairs.items()):
        stats.overlap.setdefault(sources[i], {})[sources[j]] = n
    return stats
