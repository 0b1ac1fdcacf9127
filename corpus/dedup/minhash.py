"""MinHash signatures equal to datasketch's, for a whole batch of documents in a few numpy ops.

datasketch (>= 2.0) turns each item's hash `hv` into `num_perm` values with affine permutations
and keeps the minimum per permutation:
  * affine32: h = fmix32(hv);  a*h + b mod 2**32 (uint32)
  * affine64: h = fmix64(hv);  a*h + b mod 2**64 (uint64)
  * legacy:   (a*hv + b) mod (2**61 - 1), masked to 32 bits (uint64, wrapping like datasketch)
We take `a`, `b` from datasketch itself (`MinHash(num_perm, seed, scheme).permutations`) and apply
them to a chunk of shingles at once as a (num_perm x chunk) array, then reduce the minimum per
document with `np.minimum.reduceat` along the contiguous axis. The (num_perm x chunk) array is
allocated once per call and reused (a fresh multi-MB array per chunk cost more in page faults
than the arithmetic). Its size is fixed in bytes, not shingles: on this machine 8 MB was fastest
for 112, 256 and 384 permutations (4096 x 384 or 2048 x 256 were ~1.5x slower from per-chunk
overhead, 8192 x 384 = 12 MB ~1.4x slower from cache misses).
The item hash datasketch is given is our shingle hash (`datasketch_hashfunc`), so `MinHash(..., hashfunc=datasketch_hashfunc(scheme))` fed the same
shingles has the same `hashvalues`, and `LeanMinHash`/`MinHashLSH` work on our signatures.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from corpus.dedup.shingles import fmix64, shingle_hash

U64 = np.uint64
U32 = np.uint32
MERSENNE = U64((1 << 61) - 1)
CHUNK_BYTES = 8 << 20  # the (num_perm x chunk) array per permutation step (measured, see below)


def value_dtype(scheme: str) -> type:
    """The dtype of a signature's values (datasketch's `hashvalues` dtype)."""
    return U32 if scheme == "affine32" else U64


def empty_value(scheme: str) -> int:
    """The value of an empty signature (no shingles), as in datasketch."""
    return (1 << 64) - 1 if scheme == "affine64" else (1 << 32) - 1


def datasketch_hashfunc(scheme: str) -> Callable[[bytes], int]:
    """The hash function to give datasketch's `MinHash` for it to agree with our signatures."""
    if scheme == "affine64":
        return shingle_hash
    return _shingle_hash32


def _shingle_hash32(shingle: bytes) -> int:
    return shingle_hash(shingle) >> 32


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's permutation parameters `(a, b)` for this size, seed and scheme."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme=scheme).permutations
    dtype = value_dtype(scheme) if scheme != "legacy" else U64
    return np.ascontiguousarray(a, dtype=dtype), np.ascontiguousarray(b, dtype=dtype)


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser on a uint32 array (as datasketch's `_fmix(h, 32)`)."""
    h = h ^ (h >> U32(16))
    h *= U32(0x85EBCA6B)
    h ^= h >> U32(13)
    h *= U32(0xC2B2AE35)
    h ^= h >> U32(16)
    return h


def _item_values(hashes: np.ndarray, scheme: str) -> np.ndarray:
    """Shingle hashes -> what datasketch's permutation step sees (after its pre-mix)."""
    if scheme == "affine64":
        return fmix64(hashes.astype(U64, copy=True))
    top = (hashes >> U64(32)).astype(U32 if scheme == "affine32" else U64)
    return fmix32(top) if scheme == "affine32" else top


def _permute(values: np.ndarray, a: np.ndarray, b: np.ndarray, scheme: str, buf: np.ndarray
             ) -> np.ndarray:
    """(num_perm, len(values)) permuted values, written into `buf` (reused: no page faults of a
    fresh multi-MB array per chunk); wrap-around arithmetic is datasketch's modulo."""
    out = buf[:, : len(values)]
    np.multiply(a[:, None], values[None, :], out=out)
    out += b[:, None]
    if scheme == "legacy":
        out %= MERSENNE
        out &= U64(0xFFFFFFFF)
    return out


def chunk_shingles(num_perm: int, scheme: str) -> int:
    """Shingles per permutation step: `CHUNK_BYTES` of permuted values."""
    width = num_perm * np.dtype(a_dtype(scheme)).itemsize
    return max(1024, CHUNK_BYTES // width)


def a_dtype(scheme: str) -> type:
    """The dtype permutations are computed in (legacy: uint64 before datasketch's mask)."""
    return U64 if scheme == "legacy" else value_dtype(scheme)


def signatures(hashes: np.ndarray, offsets: np.ndarray, *, num_perm: int, seed: int,
               scheme: str, chunk: int | None = None) -> np.ndarray:
    """(n_docs, num_perm) MinHash values; document i's shingle hashes are hashes[offsets[i]:offsets[i+1]].

    A document without shingles gets datasketch's empty signature (all values at the maximum).
    `chunk`: shingles per permutation step (default `chunk_shingles`; tests make it small).
    """
    n_docs = len(offsets) - 1
    a, b = permutations(num_perm, seed, scheme)
    out = np.full((n_docs, num_perm), empty_value(scheme), dtype=value_dtype(scheme))
    total = int(offsets[-1])
    if total == 0:
        return out
    values = _item_values(hashes, scheme)
    doc_first = offsets[:-1]
    nonempty = np.flatnonzero(offsets[1:] > doc_first)
    starts = doc_first[nonempty]  # distinct, ascending: the first shingle of each non-empty doc
    seg_parts, seg_starts = [], []
    chunk = chunk or chunk_shingles(num_perm, scheme)
    buf = np.empty((num_perm, min(chunk, total)), dtype=a.dtype)
    for c0 in range(0, total, chunk):
        c1 = min(c0 + chunk, total)
        lo, hi = np.searchsorted(starts, [c0, c1])
        cut = starts[lo:hi]
        if not len(cut) or cut[0] != c0:  # the chunk starts inside a document
            cut = np.concatenate([[c0], cut])
        seg_starts.append(cut)
        phv = _permute(values[c0:c1], a, b, scheme, buf)
        seg_parts.append(np.minimum.reduceat(phv, cut - c0, axis=1))
    segs = np.concatenate(seg_parts, axis=1)  # (num_perm, n_segments) in document order
    seg_start = np.concatenate(seg_starts)
    first_seg = np.searchsorted(seg_start, starts)  # a document's segments are contiguous
    per_doc = np.minimum.reduceat(segs, first_seg, axis=1)
    out[nonempty] = per_doc.T.astype(out.dtype, copy=False)
    return out
