"""Numba kernel behind `corpus.clean.linekeys`: a hash of every line's letters, in one pass.

`line_hashes` walks the code points of many (lower-cased) texts once. Per line it hashes the
letters only (digits, spaces and punctuation are left out, so "Komentarze (12)" and
"komentarze (35)" get one key), and, for a line with a chrome separator (" » ", " | ", " / ", " :: "...: a run of up to three
separator characters with a space on each side), the letters before its second separator (its
first, when it has one): the line's *template* ("Strona główna » Sport » <title>" ->
"stronagłównasport", "Portal :: Porady :: <title - with dashes>" -> "portalporady"), which
pages of one site share while their last item differs. Character classes come in as a table built from Python's own `re` and `str`
(`linekeys.char_classes`), so the kernel never decides what a letter is.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from kuznia.hash_kernels import FNV_SEED as _SEED
from kuznia.hash_kernels import finish, fnv_step, nonzero

LETTER = 1  # `[^\W\d_]`: what a line's key is made of
BREAK = 2  # a line break cleaning turns into "\n" (rules.rule_control_chars): \r \v \f \x85 U+2028 U+2029
SEPARATOR = 4  # runs of up to 3 of these with a space on each side separate items: » › → | • · / > ~ : – — -
SPACE = 8  # str.isspace (and not a break)

_LF, _CR = 0x0A, 0x0D
# Mixed into template hashes so that a template never equals a whole line's key.
_TEMPLATE_SALT = np.uint64(0x5851F42D4C957F2D)


@njit(cache=True, inline="always")
def _finish(h, length, salt):
    """murmur3's finalizer with the length and a salt mixed in; never 0 (0 means "no key")."""
    return nonzero(finish(h ^ salt, length))


@njit(cache=True)
def _count_lines(cp, offsets, classes):
    """Index of each text's first line in the output, and the total (offsets of lines)."""
    n_docs = len(offsets) - 1
    n_classes = len(classes)
    starts = np.empty(n_docs + 1, np.int64)
    total = 0
    for d in range(n_docs):
        starts[d] = total
        lines = 1
        end = offsets[d + 1]
        i = offsets[d]
        while i < end:
            c = cp[i]
            if c == _LF or (c < n_classes and classes[c] & BREAK):
                if c == _CR and i + 1 < end and cp[i + 1] == _LF:
                    i += 1  # "\r\n" is one break, as cleaning reads it
                lines += 1
            i += 1
        total += lines
    starts[n_docs] = total
    return starts


@njit(cache=True)
def line_hashes(cp, offsets, classes):
    """(exact, template, line_starts): per line of every text, the hash of its letters and of
    its letters before its second chrome separator (0: none), and where each text's lines begin.

    `cp` holds the texts' code points end to end, text `d` at `cp[offsets[d]:offsets[d + 1]]`.
    """
    n_classes = len(classes)
    starts = _count_lines(cp, offsets, classes)
    exact = np.zeros(starts[-1], np.uint64)
    template = np.zeros(starts[-1], np.uint64)
    for d in range(len(offsets) - 1):
        line = starts[d]
        h = _SEED
        letters = 0
        t_hash = _SEED
        t_letters = 0
        n_seps = 0
        begin = offsets[d]
        end = offsets[d + 1]
        i = begin
        while i <= end:
            c = cp[i] if i < end else _LF
            cls = classes[c] if c < n_classes else 0
            if i == end or c == _LF or cls & BREAK:
                if letters:
                    exact[line] = _finish(h, letters, np.uint64(0))
                if t_letters:
                    template[line] = _finish(t_hash, t_letters, _TEMPLATE_SALT)
                line += 1
                h = _SEED
                letters = 0
                t_letters = 0
                n_seps = 0
                if c == _CR and i + 1 < end and cp[i + 1] == _LF:
                    i += 1
            elif cls & LETTER:
                h = fnv_step(h, c)
                letters += 1
            elif cls & SEPARATOR and i > begin and letters and cp[i - 1] < n_classes \
                    and classes[cp[i - 1]] & SPACE:
                # a run of up to 3 separator characters with a space on each side: " » ", " :: "
                j = i
                while j < end and j - i < 3 and cp[j] < n_classes and classes[cp[j]] & SEPARATOR:
                    j += 1
                if j < end and cp[j] < n_classes and classes[cp[j]] & SPACE:
                    if n_seps < 2:  # the head before the second separator, else the first
                        t_hash = h
                        t_letters = letters
                    n_seps += 1
                    i = j - 1
            i += 1
    return exact, template, starts
