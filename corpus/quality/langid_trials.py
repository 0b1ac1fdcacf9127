"""langdetect's random trials, replayed exactly in a numba kernel.

For each document langdetect (detector.py `_detect_block`) seeds `random.Random(seed)` and runs
7 trials: a `gauss()` for the smoothing (every other trial reuses the second value of the
previous call), then n-grams drawn with `choice()` and multiplied into 55 language
probabilities (`_update_lang_prob`), normalised after draws 1, 6, 11, ... (`_normalize_prob`)
until one passes 0.99999 or 1001 draws are made; the trials' probabilities, each divided by 7,
are summed.

Every document starts from the same seed, so every document reads the same stream of 32-bit
Mersenne Twister words from its start: numpy's MT19937, given Python's seeded state, yields that
stream once per process (`_WordStream`). From it the kernel rebuilds Python's draws:
`choice(seq)` is the top `len(seq).bit_length()` bits of a word, redrawn while too large;
`random()` is two words; `gauss()` is Python's formula on two `random()`s. Each multiply, sum and
division happens in langdetect's order, and `math`'s functions are the C library's that Python
calls. Given the language order langdetect sums in (its factory's, which follows os.listdir),
the probabilities equal the library's bit for bit (tests/corpus/test_langid_trials.py); the
stage sums in sorted order, the same on every machine, and equals the library to ~1e-16.
"""

from __future__ import annotations

import math
import random
from functools import lru_cache

import numpy as np
from numba import njit

N_TRIAL = 7
ALPHA = 0.5
ALPHA_WIDTH = 0.05
ITERATION_LIMIT = 1000
CONV_THRESHOLD = 0.99999
BASE_FREQ = 10000
TWOPI = 2.0 * math.pi  # random.TWOPI


class _WordStream:
    """The 32-bit words `random.Random(seed)` consumes, generated once and grown on demand."""

    def __init__(self, seed: int, initial: int = 1 << 15):
        state = random.Random(seed).getstate()[1]
        self._gen = np.random.MT19937()
        self._gen.state = {"bit_generator": "MT19937",
                           "state": {"key": np.array(state[:624], dtype=np.uint32), "pos": state[624]}}
        # A document needs about 2 x 7 x (draws per trial) words: 2**15 covers 1000-draw trials.
        self.words = self._gen.random_raw(initial).astype(np.uint32)

    def grow(self) -> np.ndarray:
        """Double the stream (for a document whose draws ran past its end)."""
        more = self._gen.random_raw(len(self.words)).astype(np.uint32)
        self.words = np.concatenate([self.words, more])
        return self.words


@lru_cache(maxsize=4)
def _words(seed: int) -> _WordStream:
    return _WordStream(seed)


@njit(cache=True)
def _random(words: np.ndarray, at: int) -> float:
    """Python's `random()` from the two words at `at`."""
    a = float(words[at] >> 5)
    b = float(words[at + 1] >> 6)
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _trials(matrix, sum_order, rows, ends, words, first, out) -> int:
    """Fill `out[d]` (P(language) for the sorted languages) for documents `first`, ... in turn;
    return the first document whose draws would run past the end of `words` (len(ends) when
    all are done). Documents without n-grams get NaN."""
    n_langs = matrix.shape[1]
    prob = np.empty(n_langs)
    for d in range(first, len(ends)):
        start = ends[d - 1] if d > 0 else 0
        n = ends[d] - start
        if n == 0:
            out[d, :] = np.nan
            continue
        bits = 0  # n.bit_length(): choice() keeps the top `bits` bits of a word
        while (n >> bits) > 0:
            bits += 1
        shift = np.uint32(32 - bits)
        out[d, :] = 0.0
        at = 0  # the next word of the stream
        gauss_next = 0.0
        for trial in range(N_TRIAL):
            prob[:] = 1.0 / n_langs
            if trial % 2 == 0:
                if at + 4 > len(words):
                    return d
                x2pi = _random(words, at) * TWOPI
                g2rad = math.sqrt(-2.0 * math.log(1.0 - _random(words, at + 2)))
                at += 4
                z = math.cos(x2pi) * g2rad
                gauss_next = math.sin(x2pi) * g2rad
            else:
                z = gauss_next
            alpha = ALPHA + (0.0 + z * 1.0) * ALPHA_WIDTH  # gauss(0.0, 1.0) is mu + z * sigma
            i = 0
            while True:
                while True:
                    if at >= len(words):
                        return d
                    pick = words[at] >> shift
                    at += 1
                    if pick < n:
                        break
                weight = alpha / BASE_FREQ
                row = rows[start + pick]
                for j in range(n_langs):
                    prob[j] *= weight + matrix[row, j]
                if i % 5 == 0:
                    total = 0.0
                    for k in range(n_langs):
                        total += prob[sum_order[k]]
                    top = 0.0
                    for j in range(n_langs):
                        p = prob[j] / total
                        top = max(top, p)
                        prob[j] = p
                    if top > CONV_THRESHOLD or i >= ITERATION_LIMIT:
                        break
                i += 1
            for j in range(n_langs):
                out[d, j] += prob[j] / N_TRIAL
    return len(ends)


def batch_probabilities(matrix: np.ndarray, sum_order: np.ndarray, rows: np.ndarray,
                        ends: np.ndarray, seed: int) -> np.ndarray:
    """P(language) per document (documents x languages); documents without n-grams get NaN.

    `matrix` holds the profile probabilities (n-grams x languages, sorted languages),
    `sum_order` the order the probabilities are summed in (indices into the languages),
    `rows` every document's n-gram rows in langdetect's extraction order back to back,
    document i's ending at `ends[i]`.
    """
    out = np.empty((len(ends), matrix.shape[1]))
    stream = _words(seed)
    done = _trials(matrix, sum_order, rows, ends, stream.words, 0, out)
    while done < len(ends):
        done = _trials(matrix, sum_order, rows, ends, stream.grow(), done, out)
    return out
