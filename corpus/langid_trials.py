"""langdetect's random trials for a whole batch of documents at once, in numpy.

For each document langdetect seeds `random.Random(seed)` and runs 7 trials: a `gauss()` for the
smoothing (every other trial reuses the second value of the previous call), then n-grams drawn
with `choice()` and multiplied into 55 language probabilities until one passes 0.99999 at a
check (after draws 1, 6, 11, ...; at most 1001 draws).

Every document starts from the same seed, so every document reads the same stream of 32-bit
Mersenne Twister words, each from its own position: numpy's MT19937, given Python's seeded
state, yields that stream once for all (`_words`). `choice(seq)` is the top
`len(seq).bit_length()` bits of a word, redrawn while too large; `random()` is two words. So a
block of draws for every unfinished document is a handful of array operations, and the Python
work per batch no longer grows with the number of documents. The probabilities equal the
library's to floating-point rounding (tests/corpus/test_quality_signals.py).
"""

from __future__ import annotations

import math
import random
from functools import lru_cache

import numpy as np

N_TRIAL = 7
ALPHA = 0.5
ALPHA_WIDTH = 0.05
ITERATION_LIMIT = 1000
CONV_THRESHOLD = 0.99999
BASE_FREQ = 10000
FIRST_BLOCK = 61  # draws: the first check comes after one draw, the others every five
LATER_BLOCK = 60


class _WordStream:
    """The 32-bit words `random.Random(seed)` consumes, generated once and grown on demand."""

    def __init__(self, seed: int):
        state = random.Random(seed).getstate()[1]
        self._gen = np.random.MT19937()
        self._gen.state = {"bit_generator": "MT19937",
                           "state": {"key": np.array(state[:624], dtype=np.uint32), "pos": state[624]}}
        self.words = self._gen.random_raw(1 << 16)

    def ensure(self, length: int) -> np.ndarray:
        if length > len(self.words):
            more = self._gen.random_raw(max(length - len(self.words), len(self.words)))
            self.words = np.concatenate([self.words, more])
        return self.words


@lru_cache(maxsize=4)
def _words(seed: int) -> _WordStream:
    return _WordStream(seed)


def _gauss_pairs(words: np.ndarray, ptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Python's `gauss()` pair (value, cached next value) from the four words at `ptr`."""
    w = words[ptr[:, None] + np.arange(4)]
    a, b = (w[:, 0] >> 5).astype(np.float64), (w[:, 1] >> 6).astype(np.float64)
    r1 = (a * 67108864.0 + b) * (1.0 / 9007199254740992.0)
    a, b = (w[:, 2] >> 5).astype(np.float64), (w[:, 3] >> 6).astype(np.float64)
    r2 = (a * 67108864.0 + b) * (1.0 / 9007199254740992.0)
    x2pi = r1 * (2.0 * math.pi)
    g2rad = np.sqrt(-2.0 * np.log(1.0 - r2))
    return np.cos(x2pi) * g2rad, np.sin(x2pi) * g2rad


def _choices(stream: _WordStream, ptr: np.ndarray, n: np.ndarray, count: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """The next `count` `choice(range(n))` values per document, and the word offset (from
    `ptr`) of each: (values, offsets), both (documents, count)."""
    shift = (32 - np.array([int(x).bit_length() for x in n])).astype(np.uint64)
    width = 2 * count + 64  # acceptance is above 1/2: this nearly always suffices
    while True:
        words = stream.ensure(int(ptr.max()) + width)
        values = words[ptr[:, None] + np.arange(width)] >> shift[:, None]
        ok = values < n[:, None].astype(np.uint64)
        rank = np.cumsum(ok, axis=1)
        if (rank[:, -1] >= count).all():
            break
        width *= 2
    take = ok & (rank <= count)
    rows, cols = np.nonzero(take)  # row-major: each document's picks in draw order
    cols = cols.reshape(len(ptr), count)
    return values[rows, cols.ravel()].reshape(len(ptr), count).astype(np.int64), cols


def batch_probabilities(matrix: np.ndarray, rows: list[np.ndarray], seed: int) -> np.ndarray:
    """P(language) per document (documents x languages); documents without n-grams get NaN.

    `matrix` holds the profile probabilities (n-grams x languages), `rows[i]` document i's
    n-gram rows in langdetect's extraction order.
    """
    n_langs = matrix.shape[1]
    out = np.full((len(rows), n_langs), np.nan)
    live = np.array([i for i, r in enumerate(rows) if len(r)], dtype=np.int64)
    if not live.size:
        return out
    stream = _words(seed)
    n = np.array([len(rows[i]) for i in live], dtype=np.int64)
    base = np.concatenate(([0], np.cumsum(n)[:-1]))
    flat = np.concatenate([rows[i] for i in live]).astype(np.int64)
    ptr = np.zeros(len(live), dtype=np.int64)
    gauss_next = np.zeros(len(live))
    total = np.zeros((len(live), n_langs))
    uniform = math.log(1.0 / n_langs)
    for trial in range(N_TRIAL):
        if trial % 2 == 0:
            z, gauss_next = _gauss_pairs(stream.ensure(int(ptr.max()) + 4), ptr)
            ptr = ptr + 4
        else:
            z = gauss_next
        weight = (ALPHA + z * ALPHA_WIDTH) / BASE_FREQ
        active = np.arange(len(live))
        logp = np.full((len(live), n_langs), uniform)
        done = 0
        while active.size:
            block = FIRST_BLOCK if done == 0 else LATER_BLOCK
            picks, offsets = _choices(stream, ptr[active], n[active], block)
            factors = weight[active, None, None] + matrix[flat[base[active, None] + picks]]
            starts = np.concatenate(([0], np.arange(1, block, 5))) if done == 0 else np.arange(0, block, 5)
            ends = np.append(starts[1:], block) - 1  # draw offset of each check in the block
            cum = logp[active, None, :] + np.cumsum(np.log(np.multiply.reduceat(factors, starts, axis=1)), axis=1)
            at = cum - cum.max(axis=2, keepdims=True)
            stop = (1.0 / np.exp(at).sum(axis=2) > CONV_THRESHOLD) | (done + ends >= ITERATION_LIMIT)[None, :]
            hit = stop.any(axis=1)
            first = stop.argmax(axis=1)
            if hit.any():
                idx = np.flatnonzero(hit)
                final = np.exp(at[idx, first[idx]])
                total[active[idx]] += final / final.sum(axis=1, keepdims=True) / N_TRIAL
                used = ends[first[idx]]  # the last draw made, an offset in the block
                ptr[active[idx]] += offsets[idx, used] + 1
            rest = np.flatnonzero(~hit)
            if rest.size:
                last = cum[rest, -1]
                logp[active[rest]] = last - last.max(axis=1, keepdims=True)
                ptr[active[rest]] += offsets[rest, -1] + 1
            active = active[rest]
            done += block
    # langdetect sums the trials as it goes; the division above is the same up to rounding.
    out[live] = total
    return out
