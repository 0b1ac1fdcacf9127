"""Repeated-line boilerplate: lines that recur across many documents, at a document's edges.

No phrase list: the clean stage counts in how many documents each line (its key,
`linekeys.py`) occurs, within a source and across sources (`linecount.py`), and a line is
*repeated* when its key, or its template key (a breadcrumb's "Strona główna » Sport »"), is in
the table of frequent keys (`FrequentLines`). The idea is CCNet's line dedup and dolma's
paragraph dedup; what differs is where a repeated line is removed, because much of what recurs
is a document's own (man page and help headings, option lists, verse, dialogue):

- Only in a document's *edge runs*: the lines from its first (or last) line inward while they
  are repeated lines or lines the phrase rules removed (`boilerplate.py`); blank and
  symbol-only lines are passed over. Page chrome (menus, login, consent, breadcrumbs, sharing,
  footers) sits there; a repeated heading inside the text never does.
- One short line that is not repeated but has items between separators (" :: ", " / "...),
  inside such a run (repeated lines on both sides), is part of it: a per-page breadcrumb between
  a page's menu and its consent notice.
- A run of `min_run_lines` or more lines goes whole; a lone repeated line only when it is long
  (`min_single_tokens` whitespace tokens: a consent banner, a footer), since a lone short one at
  the top is most often the document's first heading.
- Protected in any run: dialogue lines (starting with a dash: "— Tak."), numbered headings
  ("1. Wstęp", "IV. Koniec", "§ 3"), lines repeated inside the document itself (a refrain; not a
  menu with separators, which sites repeat at top and bottom), and the innermost line of a top
  run when it is short, the document's own text follows it directly, and it is far more common
  than the chrome above it (its first heading, a heading of its genre: "NAZWA", "Wstęp").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from corpus.clean.linekeys import LineKeys, line_keys

_DIALOGUE_RE = re.compile(r"\s*(?:[—–]|-{2,3}\s*\w|-\s.*[.!?…][\"”’»)]*\s*$)")
# Separators between a breadcrumb's or a menu's items, a space on each side.
_CHROME_SEP_RE = re.compile(r"\s(?:[»›→|•·/>~–—]|::)\s")
_NUMBERED_RE = re.compile(
    r"\s*(?:\d{1,3}(?:\.\d{1,3})*\.?|[IVXLCDM]{1,6}\.|§\s*\d+\w*\.?|[a-zA-Z]\))\s+\S")


FREQUENT_DTYPE = np.dtype([("hash", "<u8"), ("level", "u1")])


def frequency_level(docs: np.ndarray) -> np.ndarray:
    """floor(log2(documents)): how common a line is, to a factor of two (a coarse value, so
    that the table, an input of every clean task, changes only when a count crosses a power of
    two)."""
    return np.floor(np.log2(np.maximum(np.asarray(docs, dtype=np.float64), 1))).astype(np.uint8)


class FrequentLines:
    """The keys of lines that occur in many documents, with their `frequency_level`: sorted
    arrays (9 bytes a key: millions of keys cost megabytes, not a Python set's gigabytes)."""

    def __init__(self, hashes: np.ndarray, levels: np.ndarray | None = None):
        self.hashes = np.asarray(hashes, dtype=np.uint64)
        self.levels = (np.zeros(len(self.hashes), np.uint8) if levels is None
                       else np.asarray(levels, dtype=np.uint8))
        if len(self.hashes) > 1 and not np.all(self.hashes[1:] > self.hashes[:-1]):
            raise ValueError("FrequentLines needs sorted, distinct hashes")
        if len(self.levels) != len(self.hashes):
            raise ValueError("FrequentLines needs one level per hash")

    @classmethod
    def from_rows(cls, rows: np.ndarray) -> FrequentLines:
        """From `FREQUENT_DTYPE` rows (what the merge phase writes)."""
        return cls(rows["hash"], rows["level"])

    def __len__(self) -> int:
        return len(self.hashes)

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per key: (is it frequent, its level; 0 when not). 0, "no key", never is frequent."""
        if not len(self.hashes):
            return np.zeros(len(keys), dtype=bool), np.zeros(len(keys), np.uint8)
        pos = np.minimum(np.searchsorted(self.hashes, keys), len(self.hashes) - 1)
        found = (self.hashes[pos] == keys) & (keys != 0)
        return found, np.where(found, self.levels[pos], 0).astype(np.uint8)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """Per key: is it frequent?"""
        return self.lookup(keys)[0]


@dataclass
class RepeatedRemoved:
    """What the rule removed from one document: (key, line) pairs, for the report."""

    lines: list[tuple[int, str]] = field(default_factory=list)


def _protected(line: str, repeats_inside: bool, has_template: bool) -> bool:
    """Dialogue, a numbered heading, or a refrain (a line repeated inside its own document)."""
    if _DIALOGUE_RE.match(line) or _NUMBERED_RE.match(line):
        return True
    return repeats_inside and not has_template


@dataclass
class _Run:
    members: list[int]  # indices of repeated lines still in the text
    size: int  # members + lines the phrase rules removed in the run
    inner: int | None  # the first line inward that is not repeated (None: none within reach)
    inner_adjacent: bool  # no phrase-removed line between the run and `inner`


def _walk(order, keyed: np.ndarray, repeated: np.ndarray, gap_before, bridgeable, cfg) -> _Run:
    """The run from one edge inward (`order`: line indices from that edge; `gap_before(i)`: lines
    the phrase rules removed just before line `i` on this walk's side). A line that is not
    repeated but `bridgeable(i)`, between repeated lines of a run of at least `min_run_lines`, is
    part of the run (a per-page breadcrumb inside a page's chrome)."""
    seq: list[int] = []  # lines with a key, in walk order, one beyond the reach
    gap_seq: list[int] = []  # lines the phrase rules removed before each (since the previous one)
    acc = 0
    for i in order:
        acc += gap_before(i)
        if keyed[i]:
            seq.append(i)
            gap_seq.append(acc)
            acc = 0
            if len(seq) > cfg.edge_lines:
                break
    members: list[int] = []
    size = 0
    reach = min(len(seq), cfg.edge_lines)
    for k, i in enumerate(seq[:cfg.edge_lines]):
        size += gap_seq[k]
        bridge = (not repeated[i] and size >= cfg.min_run_lines and k + 1 < reach
                  and repeated[seq[k + 1]] and bridgeable(i))
        if not repeated[i] and not bridge:
            return _Run(members, size, i, gap_seq[k] == 0)
        members.append(i)
        size += 1
    return _Run(members, size, None, False)


def _doc_keys(lines: list[str], text: str) -> tuple[np.ndarray, np.ndarray]:
    keys: LineKeys = line_keys([text])
    exact, template = keys.of(0)
    if len(exact) != len(lines):  # other line breaks than "\n" (control_chars is off): per line
        keys = line_keys(lines)
        exact = keys.exact[keys.starts[:-1]]
        template = keys.template[keys.starts[:-1]]
    return exact, template


def remove_repeated_lines(text: str, frequent: FrequentLines, cfg, gaps: list[int] | None = None,
                          removed: RepeatedRemoved | None = None,
                          chrome: set[int] | None = None) -> tuple[str, int]:
    """Drop repeated-line boilerplate from a document's edge runs; returns (text, lines removed).

    `cfg` is `CleanConfig.repeated_lines`; `gaps[i]` is how many lines the phrase rules removed
    just before line `i` (`gaps[len(lines)]`: after the last), so that the runs see them;
    `chrome`, when given, gets the frequent key (the line's, else its template's) of every line
    removed at the top (the page's chrome keys, for `sitelines.py`: a site's menu and header;
    lines recurring at the bottom are as often a genre's or a package's closing lines).
    """
    if not text or not len(frequent):
        return text, 0
    lines = text.split("\n")
    n = len(lines)
    exact, template = _doc_keys(lines, text)
    keyed = exact != 0
    (by_line, line_level), (by_template, template_level) = frequent.lookup(exact), frequent.lookup(template)
    repeated = by_line | by_template
    if not repeated.any():
        return text, 0
    level = np.maximum(line_level, template_level)
    gaps = gaps or [0] * (n + 1)

    def bridgeable(i: int) -> bool:  # short, with items between chrome separators
        return len(lines[i].split()) <= cfg.bridge_max_tokens and _CHROME_SEP_RE.search(lines[i]) is not None

    top = _walk(range(n), keyed, repeated, lambda i: gaps[i], bridgeable, cfg)
    bottom = _walk(range(n - 1, -1, -1), keyed, repeated, lambda i: gaps[i + 1], bridgeable, cfg)
    drop: set[int] = set()
    top_drop: set[int] = set()
    inside = _inside_repeats(exact)
    for run, is_top in ((top, True), (bottom, False)):
        for i in run.members:
            line = lines[i]
            if i in drop or _protected(line, int(exact[i]) in inside, template[i] != 0):
                continue
            tokens = len(line.split())
            single = cfg.min_single_tokens if is_top else cfg.min_single_tokens_bottom
            if run.size < cfg.min_run_lines and tokens < single:
                continue
            if is_top and i == run.members[-1] and _is_heading(run, i, tokens, level, cfg):
                continue  # the document's first heading, directly above its text
            drop.add(i)
            if is_top:
                top_drop.add(i)
    if not drop:
        return text, 0
    if chrome is not None:
        chrome.update(int(exact[i]) if by_line[i] else int(template[i]) for i in top_drop)
    if removed is not None:
        removed.lines.extend((int(exact[i]), lines[i].strip()) for i in sorted(drop))
    return "\n".join(line for i, line in enumerate(lines) if i not in drop), len(drop)


def _is_heading(run: _Run, i: int, tokens: int, level: np.ndarray, cfg) -> bool:
    """The innermost line of a top run is the document's first heading when it is short, stands
    directly above the document's own text, and is much more common than the chrome above it
    (`heading_level_gap` powers of two: a heading of a genre, "NAZWA", "Wstęp", against one
    site's login line)."""
    if not run.inner_adjacent or tokens > cfg.heading_max_tokens:
        return False
    others = [int(level[j]) for j in run.members if j != i]
    return not others or int(level[i]) >= max(others) + cfg.heading_level_gap


def _inside_repeats(exact: np.ndarray) -> set[int]:
    """Keys that occur on two or more lines of the document."""
    keyed = exact[exact != 0]
    if len(keyed) < 2:
        return set()
    values, counts = np.unique(keyed, return_counts=True)
    return set(values[counts > 1].tolist())
