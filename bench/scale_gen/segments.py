"""The segment table: every piece of text a generated document is joined from, computed once.

A segment is a sentence (Polish, Polish with foreign words, or another language's), a line of web
page chrome, or a separator (" ", "\\n", "\\n\\n"). For each one the table keeps its text, its
JSON string body (escaped once, so a document's `"text"` value is a `b"".join` of segment bodies,
no per-character Python), and its statistics, so that a document's Speakleash meta is a sum of
rows: the counts below are additive over segments joined by white space.

Statistics follow the demo mirror's definitions (scripts/demo_data/text_stats.py): a word is a
run of letters; a sentence ends at `.`, `!`, `?` or `…` before white space or the end;
punctuation and symbols are Unicode categories P* and S*; stop words are that module's Polish
list; nouns, verbs and OOV-like words are its suffix and shape heuristics.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.demo_data.text_stats import (  # noqa: E402 - after the path set-up
    NOUN_ENDINGS,
    POLISH_LETTERS,
    POLISH_STOPWORDS,
    VERB_ENDINGS,
)

# Columns of `SegmentTable.stats` (all int64, additive over segments).
STATS = ("chars", "bytes", "words", "letters", "sentences", "punctuations", "symbols", "stopwords",
         "oovs", "nouns", "verbs")
COL = {name: i for i, name in enumerate(STATS)}

WORD_RE = re.compile(r"[^\W\d_]+")
SENTENCE_END_RE = re.compile(r"[.!?…]+(?=\s|$)")
VOWELS = frozenset("aąeęioóuy")
SEPARATORS = (" ", "\n", "\n\n")
# What the clean stage's line keys take for a chrome separator (corpus/clean/linekeys.py).
SPACED_SEPARATOR = re.compile(r"\S\s[»›→|•·/>~:–—-]{1,3}\s")


def text_stats(text: str) -> list[int]:
    """One row of `STATS` for `text`."""
    words = WORD_RE.findall(text)
    lowered = [w.lower() for w in words]
    punct = symbols = 0
    for ch in text:
        if ord(ch) < 128:
            if not ch.isalnum() and not ch.isspace():
                cat = unicodedata.category(ch)[0]
                punct += cat == "P"
                symbols += cat == "S"
        else:
            cat = unicodedata.category(ch)[0]
            punct += cat == "P"
            symbols += cat == "S"
    stop = sum(1 for w in lowered if w in POLISH_STOPWORDS)
    content = [w for w in lowered if w not in POLISH_STOPWORDS and len(w) > 3]
    verbs = sum(1 for w in content if w.endswith(VERB_ENDINGS))
    nouns = sum(1 for w in content if not w.endswith(VERB_ENDINGS) and w.endswith(NOUN_ENDINGS))
    oovs = sum(1 for w, low in zip(words, lowered, strict=True)
               if not set(low) <= POLISH_LETTERS or _camel(w) or (len(w) > 3 and not set(low) & VOWELS))
    return [len(text), len(text.encode("utf-8")), len(words), sum(map(len, words)),
            len(SENTENCE_END_RE.findall(text)), punct, symbols, stop, oovs, nouns, verbs]


def _camel(word: str) -> bool:
    return any(a.islower() and b.isupper() for a, b in pairwise(word))


def json_body(text: str) -> bytes:
    """The JSON string literal of `text` without its quotes, as UTF-8 (what `json.dumps` writes)."""
    return json.dumps(text, ensure_ascii=False)[1:-1].encode("utf-8")


@dataclass
class SegmentTable:
    """All segments, with named ranges (`pl`, `pl_sprinkled`, `foreign:de`, `site:<name>`...)."""

    texts: list[str] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    ranges: dict[str, tuple[int, int]] = field(default_factory=dict)
    _stats: np.ndarray | None = None
    _titles: dict[int, str] = field(default_factory=dict)
    _means: dict[tuple[int, int], float] = field(default_factory=dict)
    _line_starts: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        if not self.texts:
            self.add("sep", list(SEPARATORS))

    def add(self, name: str, texts: list[str]) -> tuple[int, int]:
        """Append `texts` as the range `name`; returns its (start, end)."""
        if name in self.ranges:
            raise ValueError(f"segment range {name!r} exists already")
        start = len(self.texts)
        self.texts.extend(texts)
        self.bodies.extend(json_body(t) for t in texts)
        rows = np.asarray([text_stats(t) for t in texts], dtype=np.int64).reshape(-1, len(STATS))
        self._stats = rows if self._stats is None else np.concatenate([self._stats, rows])
        self.ranges[name] = (start, len(self.texts))
        return self.ranges[name]

    @property
    def stats(self) -> np.ndarray:
        """int64 (segments, len(STATS)): one row of statistics per segment."""
        return self._stats

    def mean_bytes(self, pool: tuple[int, int]) -> float:
        """Mean UTF-8 bytes of the segments `pool` (start, end) (cached)."""
        found = self._means.get(pool)
        if found is None:
            found = self._means[pool] = float(self.stats[pool[0]:pool[1], COL["bytes"]].mean())
        return found

    def line_starts(self, pool: tuple[int, int]) -> np.ndarray:
        """The segments of `pool` that may open a line: those without a spaced separator run
        (" - ", " | ", " : "...). The clean stage keys a line with one by the letters before it
        (a breadcrumb's "Strona główna » Sport »"), and a finite pool would give thousands of
        lines of a large corpus one such key, which cleaning rightly takes for page chrome (cached)."""
        found = self._line_starts.get(pool)
        if found is None:
            found = np.array([i for i in range(*pool) if not SPACED_SEPARATOR.search(self.texts[i])], np.int64)
            self._line_starts[pool] = found
        return found

    def title(self, i: int, words: int = 6) -> str:
        """A document title from its first sentence `i`, as a JSON string body (cached)."""
        found = self._titles.get(i)
        if found is None:
            found = json.dumps(" ".join(self.texts[i].split()[:words]).rstrip(".,:;!?…"), ensure_ascii=False)[1:-1]
            self._titles[i] = found
        return found

    def copy(self) -> SegmentTable:
        """A table that can take more ranges without changing this one."""
        return SegmentTable(list(self.texts), list(self.bodies), dict(self.ranges), self._stats, dict(self._titles),
                            dict(self._means), dict(self._line_starts))

    def ids(self, name: str) -> np.ndarray:
        """The segment ids of range `name`."""
        start, end = self.ranges[name]
        return np.arange(start, end, dtype=np.int64)

    @property
    def space(self) -> int:
        """The " " separator."""
        return self.ranges["sep"][0]

    @property
    def newline(self) -> int:
        """The "\\n" separator (a line break)."""
        return self.ranges["sep"][0] + 1

    @property
    def blank_line(self) -> int:
        """The "\\n\\n" separator (a paragraph break with a blank line)."""
        return self.ranges["sep"][0] + 2

    def text(self, ids) -> str:
        """The text of segments `ids`, joined."""
        texts = self.texts
        return "".join([texts[i] for i in ids])

    def body(self, ids) -> bytes:
        """The JSON string body of segments `ids`, joined."""
        bodies = self.bodies
        return b"".join([bodies[i] for i in ids])

    def row(self, ids) -> np.ndarray:
        """The summed statistics of the segments `ids` (one document)."""
        return self.stats[np.asarray(ids, dtype=np.int64)].sum(axis=0)


def mean_bytes(table: SegmentTable, name: str) -> float:
    """Mean UTF-8 bytes of a segment in range `name` (documents are sized with it)."""
    return table.mean_bytes(table.ranges[name])
