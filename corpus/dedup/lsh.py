"""LSH banding on signature arrays: band keys, buckets by sorting, and verified candidate pairs.

A band key is xxh3_64 of the band's values as big-endian bytes: exactly the key datasketch's
`MinHashLSH(params=(bands, rows), hashfunc=xxhash.xxh3_64_intdigest)` stores for the same
signature, so our candidates are datasketch's. Buckets come from sorting one band's keys
(a uint64 array, 8 bytes per document) rather than from a hash table of every document, so a
band of 20 M documents needs a few hundred MB and nothing grows with the number of bands.
Each bucket proposes star edges (its smallest doc index with every other member): enough for
connected components, and k - 1 edges for a bucket of k copies instead of k(k-1)/2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xxhash

COMPARE_CHUNK = 65536  # pair comparisons per numpy step (bounds the gathered signature rows)


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n_docs, bands) uint64 keys: xxh3_64 of each band's values as big-endian bytes."""
    n = sig.shape[0]
    out = np.empty((n, bands), dtype=np.uint64)
    h = xxhash.xxh3_64_intdigest
    be = sig.astype(sig.dtype.newbyteorder(">"))
    for k in range(bands):
        block = np.ascontiguousarray(be[:, k * rows : (k + 1) * rows])
        width = block.shape[1] * block.dtype.itemsize
        buf = memoryview(block).cast("B")
        out[:, k] = np.fromiter((h(buf[i * width : (i + 1) * width]) for i in range(n)),
                                dtype=np.uint64, count=n)
    return out


@dataclass
class Buckets:
    """Documents sharing a key, as CSR: bucket i is members[bounds[i]:bounds[i+1]] (ascending)."""

    members: np.ndarray  # int32 doc indices
    bounds: np.ndarray  # int64

    @property
    def n_buckets(self) -> int:
        return len(self.bounds) - 1

    def star_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """(first member, other member) for every bucket: the unverified candidate pairs."""
        sizes = np.diff(self.bounds)
        first = np.repeat(self.members[self.bounds[:-1]], sizes - 1)
        is_first = np.zeros(len(self.members), dtype=bool)
        is_first[self.bounds[:-1]] = True
        return first, self.members[~is_first]


def buckets(*keys: np.ndarray, docs: np.ndarray) -> Buckets:
    """Group `docs` by equal keys (one or more uint64 arrays compared together); drop singletons.

    Sorting is stable over ascending `docs`, so each bucket lists its members in doc order and
    the result does not depend on the order tasks ran in.
    """
    if len(keys) == 1:
        order = np.argsort(keys[0], kind="stable")
        sk = keys[0][order]
        new = np.empty(len(sk), dtype=bool)
        new[:1] = True
        np.not_equal(sk[1:], sk[:-1], out=new[1:])
        del sk
    else:
        order = np.lexsort((docs, *reversed(keys)))
        new = np.zeros(len(order), dtype=bool)
        new[:1] = True
        for k in keys:
            sk = k[order]
            new[1:] |= sk[1:] != sk[:-1]
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(order))
    multi = ends - starts >= 2
    starts, ends = starts[multi], ends[multi]
    size = ends - starts
    bounds = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(size, out=bounds[1:])
    # Gather each multi-member run of the sorted order (no Python loop over buckets).
    pos = np.arange(bounds[-1], dtype=np.int64) - np.repeat(bounds[:-1] - starts, size)
    return Buckets(docs[order[pos]].astype(np.int32), bounds)


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> np.ndarray:
    """Fraction of equal MinHash values per row (datasketch's `MinHash.jaccard`)."""
    return np.count_nonzero(sig_a == sig_b, axis=1) / sig_a.shape[1]


@dataclass
class Verified:
    a: np.ndarray  # int32: the accepted pairs (leader, member)
    b: np.ndarray
    compared: int  # pairs whose estimated Jaccard was computed
    rejected: int  # compared pairs below the threshold
    unlinked: int  # members left without a leader after the last round


Similar = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""similar(leads, docs) -> bool array: is docs[i] a near duplicate of leads[i]?"""


def verify(bk: Buckets, similar: Similar, max_rounds: int) -> Verified:
    """Keep the bucket edges that `similar` accepts (estimated or exact Jaccard at a threshold).

    Round 1 compares every member with its bucket's first member. Members it rejects form the
    rest of the bucket; its first member leads round 2, and so on: the greedy "join the first
    leader you match, else lead" grouping, one vectorised comparison per round. A bucket of
    copies costs one round; a bucket of mutually distinct documents sharing one band (shared
    boilerplate) stops after `max_rounds` with its remaining members unlinked.
    """
    sizes = np.diff(bk.bounds)
    bucket_of = np.repeat(np.arange(bk.n_buckets, dtype=np.int64), sizes)
    leader = bk.members[bk.bounds[:-1]].copy()
    is_first = np.zeros(len(bk.members), dtype=bool)
    is_first[bk.bounds[:-1]] = True
    pending = np.flatnonzero(~is_first)  # positions in members
    out_a, out_b = [], []
    compared = rejected = 0
    for _ in range(max_rounds):
        if not len(pending):
            break
        docs = bk.members[pending]
        leads = leader[bucket_of[pending]]
        ok = np.asarray(similar(leads, docs), dtype=bool)
        compared += len(pending)
        rejected += int((~ok).sum())
        out_a.append(leads[ok])
        out_b.append(docs[ok])
        rest = pending[~ok]
        if not len(rest):
            pending = rest
            break
        rb = bucket_of[rest]
        starts_new = np.ones(len(rest), dtype=bool)
        starts_new[1:] = rb[1:] != rb[:-1]
        leader[rb[starts_new]] = bk.members[rest[starts_new]]
        pending = rest[~starts_new]
    a = np.concatenate(out_a) if out_a else np.zeros(0, np.int32)
    b = np.concatenate(out_b) if out_b else np.zeros(0, np.int32)
    return Verified(a.astype(np.int32), b.astype(np.int32), compared, rejected, len(pending))


class SignatureLookup:
    """Signatures of a sorted set of docs, looked up by doc index (for `verify`)."""

    def __init__(self, docs: np.ndarray, sig: np.ndarray):
        self.docs = docs
        self.sig = sig

    def __call__(self, docs: np.ndarray) -> np.ndarray:
        return self.sig[np.searchsorted(self.docs, docs)]

    def at_least(self, min_jaccard: float) -> Similar:
        """A `similar` for `verify`: estimated Jaccard of the two signatures >= `min_jaccard`."""

        def similar(leads: np.ndarray, docs: np.ndarray) -> np.ndarray:
            ok = np.empty(len(leads), dtype=bool)
            for c in range(0, len(leads), COMPARE_CHUNK):  # bounds the gathered signature rows
                sl = slice(c, c + COMPARE_CHUNK)
                ok[sl] = estimated_jaccard(self(leads[sl]), self(docs[sl])) >= min_jaccard
            return ok

        return similar
