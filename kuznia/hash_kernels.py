"""The 64-bit string hash our numba kernels share: FNV-1a over code points, then murmur3's
finalizer with the length mixed in (so that the low bits index a table well).

Quality signals (duplicate lines, n-grams, stop words), clean's line keys and the tokens stage's
piece cache all hash text this way; their values are stored (line-key counts on disk), so the
function must not change.
"""

from __future__ import annotations

import numpy as np
from numba import njit

FNV_SEED = np.uint64(0xCBF29CE484222325)  # FNV-1a offset basis
FNV_PRIME = np.uint64(0x100000001B3)  # FNV's 64-bit prime
MIX1 = np.uint64(0xFF51AFD7ED558CCD)  # murmur3's 64-bit finalizer constants
MIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)


@njit(cache=True, inline="always")
def fnv_step(h, c):
    """One code point into an FNV-1a hash."""
    return (h ^ np.uint64(c)) * FNV_PRIME


@njit(cache=True, inline="always")
def finish(h, length):
    """murmur3's finalizer, with the length mixed in."""
    h ^= np.uint64(length)
    h ^= h >> _S33
    h *= MIX1
    h ^= h >> _S33
    h *= MIX2
    h ^= h >> _S33
    return h


@njit(cache=True, inline="always")
def nonzero(h):
    """`h`, or 1 for 0 (where 0 marks an empty slot or "no key")."""
    return h if h != np.uint64(0) else np.uint64(1)
