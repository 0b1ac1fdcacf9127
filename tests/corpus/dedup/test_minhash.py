"""Signatures equal datasketch's MinHash; band keys and candidates equal MinHashLSH's."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import xxhash
from datasketch import LeanMinHash, MinHash, MinHashLSH

from corpus.dedup.lsh import band_keys, buckets
from corpus.dedup.minhash import chunk_shingles, datasketch_hashfunc, signatures
from corpus.dedup.shingles import shingle_batch, shingles

SMALL_CHUNK = 1000  # shingles per permutation step in these tests: documents span chunks

TEXTS = [
    "Wierzymy, że modele językowe o mniejszych rozmiarach posiadają ogromny potencjał.",
    "wierzymy że modele językowe o mniejszych rozmiarach posiadają OGROMNY potencjał!!",
    "Trenowanie dużych modeli językowych wymaga ogromnej mocy obliczeniowej.",
    "",
    "krótki",
    " ".join(f"słowo{i % 977}" for i in range(3 * SMALL_CHUNK)),  # spans several chunks
]


@pytest.mark.parametrize("scheme", ["affine32", "affine64", "legacy"])
def test_signatures_equal_datasketch(scheme):
    b = shingle_batch(TEXTS)
    sig = signatures(b.hashes, b.offsets, num_perm=48, seed=7, scheme=scheme, chunk=SMALL_CHUNK)
    assert np.array_equal(sig, signatures(b.hashes, b.offsets, num_perm=48, seed=7, scheme=scheme))
    for i, text in enumerate(TEXTS):
        m = MinHash(num_perm=48, seed=7, scheme=scheme, hashfunc=datasketch_hashfunc(scheme))
        m.update_batch(shingles(text))
        assert sig[i].dtype == m.hashvalues.dtype
        assert np.array_equal(sig[i], m.hashvalues), (scheme, i)


def test_chunk_is_a_fixed_number_of_bytes():
    assert chunk_shingles(256, "affine32") == 8192
    assert chunk_shingles(256, "affine64") == chunk_shingles(256, "legacy") == 4096
    assert chunk_shingles(1024, "affine64") == 1024


def test_verification_permutations_extend_the_band_prefix_like_minhashlsh():
    # num_perm 256 with 14 x 8 bands: bands read the first 112 values, as MinHashLSH does for a
    # 256-permutation MinHash, and the band keys are its keys.
    b = shingle_batch(TEXTS[:3])
    sig = signatures(b.hashes, b.offsets, num_perm=256, seed=1, scheme="affine32")
    lsh = MinHashLSH(num_perm=256, params=(14, 8), hashfunc=xxhash.xxh3_64_intdigest)
    for i in range(3):
        lsh.insert(i, LeanMinHash(seed=1, hashvalues=sig[i], scheme="affine32"))
    keys = band_keys(sig, 14, 8)
    for band, table in enumerate(lsh.hashtables):
        assert set(table.keys()) == set(keys[:, band].tolist())


def test_lean_minhash_from_our_signature_estimates_jaccard():
    b = shingle_batch(TEXTS)
    sig = signatures(b.hashes, b.offsets, num_perm=128, seed=1, scheme="affine32")
    m0, m1, m2 = (LeanMinHash(seed=1, hashvalues=sig[i], scheme="affine32") for i in range(3))
    assert m0.jaccard(m1) == 1.0  # same words after normalisation
    assert m0.jaccard(m2) < 0.2


def _docs():
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(300)]
    base = [" ".join(rng.choice(vocab, 200)) for _ in range(20)]
    docs = []
    for t in base:
        words = t.split()
        docs.append(t)
        for edits in (1, 3, 40):
            w = list(words)
            for j in rng.choice(len(w), edits, replace=False):
                w[j] = "x" + str(rng.integers(10**6))
            docs.append(" ".join(w))
    return docs


def test_band_keys_and_candidates_equal_minhashlsh():
    docs = _docs()
    b = shingle_batch(docs)
    sig = signatures(b.hashes, b.offsets, num_perm=112, seed=1, scheme="affine32")
    keys = band_keys(sig, 14, 8)
    lsh = MinHashLSH(num_perm=112, params=(14, 8), hashfunc=xxhash.xxh3_64_intdigest)
    for i in range(len(docs)):
        lsh.insert(i, LeanMinHash(seed=1, hashvalues=sig[i], scheme="affine32"))
    for band, table in enumerate(lsh.hashtables):
        assert set(table.keys()) == set(keys[:, band].tolist())
    ours = set()
    idx = np.arange(len(docs), dtype=np.int32)
    for band in range(14):
        bk = buckets(keys[:, band].copy(), docs=idx)
        for k in range(bk.n_buckets):
            ours.update(itertools.combinations(bk.members[bk.bounds[k] : bk.bounds[k + 1]].tolist(), 2))
    theirs = set()
    for i in range(len(docs)):
        for j in lsh.query(LeanMinHash(seed=1, hashvalues=sig[i], scheme="affine32")):
            if i < j:
                theirs.add((i, j))
    assert ours == theirs
    assert len(ours) >= 30  # the near duplicates were found at all
