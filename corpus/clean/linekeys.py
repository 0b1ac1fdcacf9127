"""The key of a line, for finding lines that recur across documents (repeated-line boilerplate).

A line's key is its letters, lower-cased: digits, spaces and punctuation are left out, so that
"Komentarze (12)" and "KOMENTARZE (35)", "© 2022 Portal" and "© 2023 Portal" are one line (as
CCNet normalises lines before its line dedup: lower case, digits and punctuation out). A line
with a chrome separator (" » ", " | ", " / ", " :: "...) also has a *template* key: its letters
before its second separator (its first when it has one), which the pages of one site share
("Strona główna » Sport » <title>"). Keys are 64-bit hashes (`linekeys_kernels`), 0 meaning "no letters".

Lines are what cleaning will see: "\\r\\n", "\\r", U+2028... break lines as `rule_control_chars`
makes them "\\n". Only the first and last `edge_lines` keyed lines of a document are counted and
looked at: boilerplate of pages sits around the content, and what repeats in the middle of
documents (headings, option lists, refrains) is theirs (see `repeated.py`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from corpus.clean import linekeys_kernels as K

_N_CODE_POINTS = 0x110000
_LETTER_RE = r"[^\W\d_]+"
# What `rules.rule_control_chars` turns into "\n" ("\r\n" is joined in the kernel).
_BREAKS = "\r\u2028\u2029\x0b\x0c\x85"
SEPARATORS = "»›→|•·/>~:–—-"


@functools.cache
def char_classes() -> np.ndarray:
    """Class bits (`linekeys_kernels.LETTER` ...) of every code point, asked of Python's `re`
    and `str`. Built once per process (about half a second)."""
    every = np.arange(_N_CODE_POINTS, dtype=np.uint32).tobytes().decode("utf-32-le", "surrogatepass")
    classes = np.zeros(_N_CODE_POINTS, dtype=np.uint8)
    for m in re.finditer(_LETTER_RE, every):
        classes[m.start():m.end()] |= K.LETTER
    classes[np.fromiter(map(str.isspace, every), dtype=bool, count=_N_CODE_POINTS)] |= K.SPACE
    for chars, bit in ((_BREAKS, K.BREAK), (SEPARATORS, K.SEPARATOR)):
        classes[[ord(c) for c in chars]] |= bit
    classes[[ord(c) for c in _BREAKS + "\n"]] &= ~np.uint8(K.SPACE)
    return classes


@dataclass(frozen=True)
class LineKeys:
    """Keys of every line of a batch of texts: text `d`'s lines are `starts[d]:starts[d + 1]`."""

    exact: np.ndarray  # uint64 per line; 0: the line has no letters
    template: np.ndarray  # uint64 per line; 0: no chrome separator with letters before it
    starts: np.ndarray  # int64, one more than the texts

    def of(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """(exact, template) of text `d`'s lines."""
        a, b = self.starts[d], self.starts[d + 1]
        return self.exact[a:b], self.template[a:b]


def code_points(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(code points, offsets) of `texts` lower-cased and joined, as the line kernels read them:
    text `d` is `cp[offsets[d]:offsets[d + 1]]`."""
    lowered = [t.lower() for t in texts]
    offsets = np.array([0, *accumulate(map(len, lowered))], dtype=np.int64)
    return np.frombuffer("".join(lowered).encode("utf-32-le", "surrogatepass"), dtype=np.uint32), offsets


def line_keys(texts: list[str]) -> LineKeys:
    """The keys of every line of `texts` (lower-cased here: the kernel compares code points)."""
    cp, offsets = code_points(texts)
    exact, template, starts = K.line_hashes(cp, offsets, char_classes())
    return LineKeys(exact, template, starts)


def edge_mask(keys: LineKeys, edge_lines: int) -> np.ndarray:
    """Per line: is it among the first or last `edge_lines` lines with a key of its text?"""
    keyed = keys.exact != 0
    keyed_n = keyed.astype(np.int64)
    n_docs = len(keys.starts) - 1
    doc = np.repeat(np.arange(n_docs), np.diff(keys.starts))
    rank = np.cumsum(keyed_n) - keyed_n  # keyed lines before this one, from the batch's start
    first_rank = rank[keys.starts[:-1]] if len(rank) else np.zeros(0, np.int64)
    per_doc = np.add.reduceat(keyed_n, keys.starts[:-1]) if len(keyed) else np.zeros(0, np.int64)
    local = rank - first_rank[doc]
    return keyed & ((local < edge_lines) | (local >= per_doc[doc] - edge_lines))


COUNT_DTYPE = np.dtype([("hash", "<u8"), ("docs", "<u4")])


def document_counts(keys: LineKeys, edge_lines: int) -> np.ndarray:
    """In how many of the texts each key occurs (at an edge), as `COUNT_DTYPE` rows sorted by
    hash: a key counts once per text however often it occurs there."""
    mask = edge_mask(keys, edge_lines)
    doc = np.repeat(np.arange(len(keys.starts) - 1, dtype=np.uint64), np.diff(keys.starts))
    hashes = np.concatenate([keys.exact[mask], keys.template[mask & (keys.template != 0)]])
    docs = np.concatenate([doc[mask], doc[mask & (keys.template != 0)]])
    order = np.lexsort((docs, hashes))
    hashes, docs = hashes[order], docs[order]
    first = np.ones(len(hashes), dtype=bool)
    first[1:] = (hashes[1:] != hashes[:-1]) | (docs[1:] != docs[:-1])
    unique, counts = np.unique(hashes[first], return_counts=True)
    out = np.empty(len(unique), dtype=COUNT_DTYPE)
    out["hash"], out["docs"] = unique, counts
    return out
