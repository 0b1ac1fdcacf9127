"""Buckets by sorting, star edges, and the leader rounds of pair verification."""

from __future__ import annotations

import numpy as np

from corpus.dedup.lsh import Buckets, SignatureLookup, buckets, verify
from corpus.dedup.stage import unique_pairs


def test_buckets_group_equal_keys_in_doc_order_and_drop_singletons():
    keys = np.array([5, 3, 5, 9, 3, 5], dtype=np.uint64)
    docs = np.array([10, 11, 12, 13, 14, 15], dtype=np.int32)
    bk = buckets(keys, docs=docs)
    got = [bk.members[bk.bounds[i] : bk.bounds[i + 1]].tolist() for i in range(bk.n_buckets)]
    assert got == [[11, 14], [10, 12, 15]]
    a, b = bk.star_edges()
    assert list(zip(a.tolist(), b.tolist())) == [(11, 14), (10, 12), (10, 15)]


def test_buckets_on_two_keys_need_both_equal():
    hi = np.array([1, 1, 1, 2], dtype=np.uint64)
    lo = np.array([7, 8, 7, 7], dtype=np.uint64)
    bk = buckets(hi, lo, docs=np.arange(4, dtype=np.int32))
    assert bk.members.tolist() == [0, 2] and bk.bounds.tolist() == [0, 2]


def test_verify_splits_a_bucket_into_leaders_and_drops_loners():
    # Docs 0,2 alike; 1,3 alike; 4 like nobody: one bucket (a shared band) of all five.
    sig = np.array([
        [1, 1, 1, 1], [2, 2, 2, 2], [1, 1, 1, 9], [2, 2, 2, 8], [7, 6, 5, 4]], dtype=np.uint32)
    bk = Buckets(np.arange(5, dtype=np.int32), np.array([0, 5]))
    v = verify(bk, SignatureLookup(np.arange(5), sig).at_least(0.75), max_rounds=8)
    assert sorted(zip(v.a.tolist(), v.b.tolist())) == [(0, 2), (1, 3)]
    # round 1: 4 compared with doc 0 (1 accepted); round 2: 2 with doc 1 (1 accepted);
    # round 3: nothing left to compare (doc 4 leads alone).
    assert (v.compared, v.rejected, v.unlinked) == (6, 4, 0)
    capped = verify(bk, SignatureLookup(np.arange(5), sig).at_least(0.75), max_rounds=1)
    assert capped.unlinked == 2 and capped.a.tolist() == [0]


def test_unique_pairs_orients_and_dedups():
    a, b = unique_pairs([np.array([3, 1]), np.array([1])], [np.array([1, 3]), np.array([2])])
    assert a.tolist() == [1, 1] and b.tolist() == [2, 3]
