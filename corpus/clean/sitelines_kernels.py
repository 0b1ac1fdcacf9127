"""Numba kernel behind `corpus.clean.sitelines`: the *site key* of every line, in one pass.

A line gets a site key when it looks like something a site inserts between paragraphs rather
than running text: a *label line* ("Czytaj także: <title>", "Dalsze lektury: <title>"), keyed
by the letters of its head before ": " when the head has at most `label_max_tokens` tokens; or
a short line of letters ("Reklama", "Materiał partnera"), at most `max_tokens` tokens with at
least `min_letters_per_mille` per mille of its non-space characters letters (so code lines,
tables and numbers get none), keyed by its letters. Keys are salted, so that they never equal a
line key of `linekeys_kernels`; 0 means "no site key".
"""

from __future__ import annotations

import numpy as np
from numba import njit

from kuznia.hash_kernels import FNV_SEED as _SEED
from kuznia.hash_kernels import finish, fnv_step, nonzero

from corpus.clean.linekeys_kernels import BREAK, LETTER, SPACE

_LF, _CR, _COLON = 0x0A, 0x0D, 0x3A
_LABEL_SALT = np.uint64(0x2545F4914F6CDD1D)
_SHORT_SALT = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True)
def site_line_keys(cp, offsets, classes, line_starts, max_tokens, label_max_tokens,
                   min_letters_per_mille):
    """Per line of every text (lines numbered as `linekeys_kernels.line_hashes` numbers them,
    `line_starts` its third output): the line's site key, 0 when it has none."""
    n_classes = len(classes)
    keys = np.zeros(line_starts[-1], np.uint64)
    for d in range(len(offsets) - 1):
        line = line_starts[d]
        h = _SEED
        letters = 0
        nonspace = 0
        tokens = 0
        in_token = False
        label = np.uint64(0)
        label_done = False
        end = offsets[d + 1]
        i = offsets[d]
        while i <= end:
            c = cp[i] if i < end else _LF
            cls = classes[c] if c < n_classes else 0
            if i == end or c == _LF or cls & BREAK:
                if label != 0:
                    keys[line] = label
                elif letters and tokens <= max_tokens and letters * 1000 >= min_letters_per_mille * nonspace:
                    keys[line] = nonzero(finish(h ^ _SHORT_SALT, letters))
                line += 1
                h = _SEED
                letters = nonspace = tokens = 0
                in_token = False
                label = np.uint64(0)
                label_done = False
                if c == _CR and i + 1 < end and cp[i + 1] == _LF:
                    i += 1
            elif cls & SPACE:
                in_token = False
            else:
                if not in_token:
                    tokens += 1
                    in_token = True
                nonspace += 1
                if cls & LETTER:
                    h = fnv_step(h, c)
                    letters += 1
                elif c == _COLON and not label_done:
                    label_done = True  # only the first colon can end a head
                    nxt = cp[i + 1] if i + 1 < end else _LF
                    if letters and tokens <= label_max_tokens and nxt < n_classes \
                            and classes[nxt] & SPACE:
                        label = nonzero(finish(h ^ _LABEL_SALT, letters))
            i += 1
    return keys
