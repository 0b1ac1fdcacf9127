"""Gopher and FineWeb text statistics of a batch of documents, in numba kernels.

The statistics are those of datatrove's GopherRepetitionFilter, GopherQualityFilter and
FineWebQualityFilter, the filters FineWeb-2 tuned per language, so that FineWeb-2's Polish
thresholds mean here what they meant there. datatrove computes them with Python loops over
words and n-grams, several passes per filter; here `corpus.textstats_kernels` counts
everything in one pass over each text's code points and one over its tokens, and this module
turns the counts into ratios (each one division of two integers, as plain Python would).

Definitions (what the kernels count):
- Tokens: matches of `TOKEN_RE`; words: tokens with `str.isalnum()`; `alpha_words_frac`
  counts words that are not `str.isdigit()`, over all tokens (datatrove's denominator).
- Lines: `str.splitlines()`; a blank line is whitespace only (`str.strip()`). Bullet and
  ellipsis lines are over all lines, the rest over non-blank lines; duplicate lines compare
  the lines as they are (not stripped).
- Paragraphs: `text.strip()` split at runs of two or more "\\n".
- Top n-gram (n in `TOP_NGRAMS`): the most frequent n-gram, the earliest of equals, times its
  characters with its tokens joined by single spaces, over the text's characters; without
  repeats, the first n-gram once. Duplicate n-grams (n in `DUP_NGRAMS`): datatrove's
  find_all_duplicate walk (a repeat adds its tokens' characters and jumps n tokens ahead).

Where we differ from datatrove (each a deliberate choice, all in the `_v1` names):
- Tokens: runs of letters and digits, and single other characters, which is what spaCy's
  Polish tokenizer (datatrove's choice for Polish) yields for ordinary text ("np." -> "np",
  "."; "e-mail" -> "e", "-", "mail"). A word is a token of letters and digits.
- Duplicate n-grams are compared as token sequences, not as the tokens glued together without
  a separator (datatrove's "".join lets "ab c" equal "a bc").
- `fineweb_v1_newline_ratio` counts a run of line breaks once: a blank line between paragraphs
  is one break, as in the trafilatura output FineWeb-2 tuned its threshold on.
- Bullet lines also start with "–" or "*", Polish lists' usual marks.
- A line "ends in punctuation" also when a closing quote or bracket follows the mark: `koniec.”`

The plain-Python implementation these kernels replaced is kept as the test reference
(`tests/corpus/textstats_reference.py`); tests demand equal dicts, float bits included.
"""

from __future__ import annotations

import functools
import operator
import re
from itertools import accumulate

import numpy as np

from corpus.polish import CLOSING_MARKS, TERMINAL_PUNCTUATION
from corpus.quality import textstats_kernels as K
from corpus.quality.catalogue import DUP_NGRAMS, TOP_NGRAMS

# Tokens: runs of letters and digits, and every other non-space character on its own. (Python's
# `\w` is "alphanumeric or _", so `[^\W_]` is exactly `str.isalnum`.)
_WORD_RUN = r"[^\W_]+"
_OTHER_TOKEN = r"\S"
TOKEN_RE = re.compile(f"{_WORD_RUN}|{_OTHER_TOKEN}")
_BULLETS = "•-–*"  # a bullet line starts with one of these (after lstrip)
_LINE_END = TERMINAL_PUNCTUATION
_LINE_END_STRIP = CLOSING_MARKS + " \t"
SHORT_LINE_CHARS = 30  # FineWeb's short_line_length
_N_CODE_POINTS = 0x110000
_MAX_N = max(*TOP_NGRAMS, *DUP_NGRAMS)
_WANT_TOP = np.isin(np.arange(_MAX_N + 1), TOP_NGRAMS)
_WANT_DUP = np.isin(np.arange(_MAX_N + 1), DUP_NGRAMS)


@functools.cache
def char_classes() -> np.ndarray:
    """Class bits (`textstats_kernels.WORD_RUN` ...) of every code point, surrogates included,
    asked of Python's own `re` and `str` so that the kernels tokenize and strip exactly as
    `TOKEN_RE.findall`, `str.isalnum`, `str.strip` and `str.splitlines` do. Built once per
    process (about half a second)."""
    every = np.arange(_N_CODE_POINTS, dtype=np.uint32).tobytes().decode("utf-32-le", "surrogatepass")
    classes = np.zeros(_N_CODE_POINTS, dtype=np.uint16)
    for pattern, bit in ((_WORD_RUN, K.WORD_RUN), (_OTHER_TOKEN + "+", K.NON_SPACE)):
        for m in re.finditer(pattern, every):
            classes[m.start() : m.end()] |= bit
    for method, bit in ((str.isalnum, K.ALNUM), (str.isdigit, K.DIGIT), (str.isspace, K.SPACE)):
        classes[np.fromiter(map(method, every), dtype=bool, count=_N_CODE_POINTS)] |= bit
    # Each piece of splitlines(keepends=True) ends in its boundary, except perhaps the last.
    # (No "\r\n" pair occurs in `every`; the kernel joins it.)
    for piece in every.splitlines(keepends=True):
        if piece.splitlines() != [piece]:
            classes[ord(piece[-1])] |= K.LINE_BREAK
    for chars, bit in ((_BULLETS, K.BULLET), (_LINE_END_STRIP, K.END_STRIP), (_LINE_END, K.TERMINAL)):
        classes[[ord(c) for c in chars]] |= bit
    return classes


def _code_points(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The texts' code points end to end (lone surrogates kept as themselves) and offsets."""
    offsets = np.array([0, *accumulate(map(len, texts))], dtype=np.int64)
    joined = "".join(texts).encode("utf-32-le", "surrogatepass")
    return np.frombuffer(joined, dtype=np.uint32), offsets


@functools.lru_cache(maxsize=8)
def _stopword_code_points(stopwords: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
    """`_code_points` of the sorted stop words (one set per config: worth keeping)."""
    return _code_points(sorted(stopwords))


def _ngram_column(n: int, which: int) -> int:
    """Column of n's top numerator (which=0) or duplicate characters (1) once the kernel's
    n-gram counts are appended to its other counts."""
    return K.N_COLUMNS + 2 * n + which


# Every statistic in output order: ints are a count column, ratios (numerator, denominator);
# datatrove divides word ratios by all tokens, punctuation included.
_STATS: dict[str, int | tuple[int, int]] = {
    "words": K.WORDS,
    "tokens": K.TOKENS,
    "mean_word_len": (K.WORD_CHARS, K.WORDS),
    "alpha_words_frac": (K.ALPHA_WORDS, K.TOKENS),
    "hash_ratio": (K.HASHES, K.TOKENS),
    "ellipsis_ratio": (K.ELLIPSES, K.TOKENS),
    "bullet_lines_frac": (K.BULLET_LINES, K.ALL_LINES),
    "ellipsis_lines_frac": (K.ELLIPSIS_LINES, K.ALL_LINES),
    "stopwords": K.STOPWORDS,
    "stopword_frac": (K.STOP_TOKENS, K.WORDS),
    "dup_line_frac": (K.DUP_LINES, K.LINES),
    "dup_line_char_frac": (K.DUP_LINE_CHARS, K.CHARS),
    "dup_para_frac": (K.DUP_PARAS, K.PARAS),
    "dup_para_char_frac": (K.DUP_PARA_CHARS, K.CHARS),
    "line_punct_frac": (K.PUNCT_LINES, K.LINES),
    "short_line_frac": (K.SHORT_LINES, K.LINES),
    "char_dup_frac": (K.DUP_LINE_CHARS, K.NON_NEWLINE_CHARS),
    "newline_ratio": (K.LINE_BREAKS, K.TOKENS),
    **{f"top_{n}gram_frac": (_ngram_column(n, 0), K.CHARS) for n in TOP_NGRAMS},
    **{f"dup_{n}gram_frac": (_ngram_column(n, 1), K.CHARS) for n in DUP_NGRAMS},
}
_INT_KEYS = [k for k, v in _STATS.items() if isinstance(v, int)]
_RATIO_KEYS = [k for k, v in _STATS.items() if not isinstance(v, int)]
_INT_COLUMNS = np.array([_STATS[k] for k in _INT_KEYS])
_NUMERATORS = np.array([_STATS[k][0] for k in _RATIO_KEYS])
_DENOMINATORS = np.array([_STATS[k][1] for k in _RATIO_KEYS])
_KEYS = list(_STATS)
_IN_KEY_ORDER = operator.itemgetter(*[(_INT_KEYS + _RATIO_KEYS).index(k) for k in _KEYS])


def text_stats(text: str, stopwords: frozenset[str]) -> dict[str, float | int]:
    """Every statistic of one text, keyed by its short name (the caller adds versions).

    Ratios over an empty set are 0.0; `decide` rejects empty and too-short texts first, so no
    threshold ever sees those zeros.
    """
    return text_stats_batch([text], stopwords)[0]


def text_stats_batch(texts: list[str], stopwords: frozenset[str]) -> list[dict[str, float | int]]:
    """`text_stats` for many texts: one kernel call for the batch, each text counted alone."""
    counts, ratios = _counts_and_ratios(texts, stopwords)
    rows = map(list.__add__, counts[:, _INT_COLUMNS].tolist(), ratios.tolist())
    return [dict(zip(_KEYS, _IN_KEY_ORDER(row))) for row in rows]


def text_stats_columns(texts: list[str], stopwords: frozenset[str]) -> dict[str, np.ndarray]:
    """`text_stats_batch` as one array per statistic (int64 counts, float64 ratios), in the
    same key order: what a table is built from, without a dict per text."""
    counts, ratios = _counts_and_ratios(texts, stopwords)
    columns = {k: counts[:, c] for k, c in zip(_INT_KEYS, _INT_COLUMNS)}
    columns.update((k, ratios[:, i]) for i, k in enumerate(_RATIO_KEYS))
    return {k: columns[k] for k in _KEYS}


def _counts_and_ratios(texts: list[str], stopwords: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
    """The kernels' counts (texts x count columns) and the ratios of `_RATIO_KEYS`."""
    cp, offsets = _code_points(texts)
    sw_cp, sw_offsets = _stopword_code_points(frozenset(stopwords))
    counts, ngrams = K.batch_counts(cp, offsets, char_classes(), SHORT_LINE_CHARS, sw_cp, sw_offsets,
                                    _WANT_TOP, _WANT_DUP)
    n_docs, max_n, pair = ngrams.shape  # (reshape(n, -1) cannot size an empty batch)
    counts = np.concatenate([counts, ngrams.reshape(n_docs, max_n * pair)], axis=1)
    return counts, K.ratios(counts, _NUMERATORS, _DENOMINATORS)
