"""Selection rules of the corpus stage, vectorised: the keeper per cluster and source weights.

Everything here works on Arrow tables / numpy arrays of millions of rows without a per-row
Python loop (the one exception, hashing ids for source weights, only runs for sources whose
weight is not 1). The quality thresholds are in `thresholds.py`; the stage (`stage.py`) reads
the parts and calls these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

# Speakleash's per-document label, best first; a document without one ranks last.
LABEL_RANK = {"HIGH": 0, "MEDIUM": 1, "LOW": 2}
NO_LABEL_RANK = len(LABEL_RANK)


def label_ranks(labels: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Speakleash labels (HIGH/MEDIUM/LOW/null, any case) -> ranks 0..3 (int8; lower is better)."""
    upper = pc.utf8_upper(pc.cast(labels, pa.string()))
    out = np.full(len(upper), NO_LABEL_RANK, dtype=np.int8)
    for label, rank in LABEL_RANK.items():
        hit = pc.fill_null(pc.equal(upper, label), False)
        out[np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)] = rank
    return out


def source_kind(source: str) -> str:
    """`speakleash.wolne_lektury` -> `speakleash` (the part before the first dot)."""
    return source.split(".", 1)[0]


def source_rank(source: str, priority: Sequence[str]) -> int:
    """Position of a source in the priority list (an exact name beats its kind); unlisted: last."""
    if source in priority:
        return list(priority).index(source)
    kind = source_kind(source)
    if kind in priority:
        return list(priority).index(kind)
    return len(priority)


def source_weight(source: str, weights: dict[str, float]) -> float:
    """The weight of a source: its own entry, else its kind's, else 1."""
    if source in weights:
        return float(weights[source])
    return float(weights.get(source_kind(source), 1.0))


def pick_keepers(members: pa.Table, priority: Sequence[str]) -> pa.Table:
    """The keeper of every duplicate cluster, by the deterministic rule of the dedup issue.

    `members` has one row per document in a cluster: `id, cluster_id, source, passes (bool),
    label (string or null), chars`. Among the members of a cluster that pass the quality
    thresholds, the keeper has the best Speakleash label (HIGH > MEDIUM > LOW > none), then the
    best source priority, then the most characters, then the smallest id. A cluster in which no
    member passes has no keeper. Returns `cluster_id, keeper` (one row per cluster with a keeper).
    """
    if members.num_rows == 0:
        return pa.table({"cluster_id": pa.array([], members.schema.field("cluster_id").type),
                         "keeper": pa.array([], pa.string())})
    sources = members.column("source").combine_chunks().dictionary_encode()
    rank_of = np.array([source_rank(s, priority) for s in sources.dictionary.to_pylist()], np.int32)
    t = pa.table({
        "cluster_id": members.column("cluster_id"),
        "fails": pc.invert(pc.fill_null(members.column("passes"), False)),
        "label_rank": label_ranks(members.column("label")),
        "source_rank": rank_of[sources.indices.to_numpy(zero_copy_only=False)],
        "neg_chars": pc.negate(pc.cast(members.column("chars"), pa.int64())),
        "id": members.column("id"),
    })
    order = pc.sort_indices(t, sort_keys=[("cluster_id", "ascending"), ("fails", "ascending"),
                                          ("label_rank", "ascending"), ("source_rank", "ascending"),
                                          ("neg_chars", "ascending"), ("id", "ascending")])
    t = t.take(order)
    cid = t.column("cluster_id").combine_chunks()
    first = np.ones(t.num_rows, dtype=bool)
    if t.num_rows > 1:
        first[1:] = pc.not_equal(cid.slice(1), cid.slice(0, t.num_rows - 1)).to_numpy(
            zero_copy_only=False)
    passes = ~t.column("fails").to_numpy(zero_copy_only=False)
    mask = pa.array(first & passes)
    return pa.table({"cluster_id": cid.filter(mask),
                     "keeper": t.column("id").combine_chunks().filter(mask)})


def id_draws(ids: Sequence[str], seed: int) -> np.ndarray:
    """A seeded uniform number in [0, 1) per id (xxh64 of `seed:id`): reproducible sampling that
    does not depend on row order, part boundaries or the number of workers."""
    prefix = f"{seed}:"
    h = np.fromiter((xxhash.xxh64_intdigest((prefix + i).encode()) for i in ids), dtype=np.uint64, count=len(ids))
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def copies_for_weight(ids: Sequence[str], weight: float, seed: int) -> np.ndarray:
    """How many times each document goes into the corpus under a source weight.

    Weight 1: once. Below 1: once with probability `weight` (seeded hash of the id), else 0.
    Above 1: `floor(weight)` times plus one more with probability `weight - floor(weight)`.
    """
    n = len(ids)
    if weight == 1.0:
        return np.ones(n, dtype=np.int32)
    whole = math.floor(weight)
    frac = weight - whole
    base = np.full(n, whole, dtype=np.int32)
    if frac > 0:
        base += (id_draws(ids, seed) < frac).astype(np.int32)
    return base
