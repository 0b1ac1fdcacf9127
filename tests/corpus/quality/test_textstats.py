"""Text statistics: the numba kernels against the plain-Python reference they replaced (equal
dicts, float bits included), against from-scratch definitions, and on the demo texts."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from demo_corpus import demo_texts
from hypothesis import example, given, settings
from hypothesis import strategies as st

from corpus.polish import FINEWEB2_STOPWORDS
from corpus.quality import textstats_kernels as K
from corpus.quality.textstats import (
    TOKEN_RE,
    char_classes,
    text_stats,
    text_stats_batch,
    text_stats_columns,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the reference sits beside this file
import textstats_reference as reference

# Stop words that can and cannot be tokens: with a space, empty, with "_", an astral
# character, a lone surrogate.
STOPWORDS = frozenset(FINEWEB2_STOPWORDS) | {"Ala", "a b", "", "snake_case", "😀", "\ud800", "..."}

WORDS = ["Ala", "ma", "kota", "zażółć", "gęślą", "jaźń", "ŻÓŁW", "się", "w", "i", "na", "o",
         "Kraków", "x2", "2024", "12,5", "np", "e-mail", "snake_case", "_", "__init__"]
MARKS = [".", ",", "!", "?", "…", "...", "....", "......", "”", '"', "'", "’", "»", ")", "]",
         "(", "#", "##", "-", "–", "•", "*", ":", ";", "/"]
SPACES = [" ", " ", " ", "  ", "\t", "\u00a0", "\u2003", "\u3000", "\u200b"]
BREAKS = ["\n", "\n", "\n\n", "\n\n\n", "\r", "\r\n", "\n\r", "\x0b", "\x0c", "\x1c", "\x1d",
          "\x1e", "\x85", "\u2028", "\u2029", "\n \n", "\n\t\n\n"]
# Astral letters and emoji, lone surrogates (and a pair of them, two code points in a str),
# digits that are not ASCII, numerals, a combining mark, a control character.
ODD = ["😀", "𝔸", "\U00020000", "\ud800", "\udfff", "\ud83d\ude00", "٣", "²", "Ⅻ", "\u0301",
       "ǅ", "\x00", "\x7f"]
INT_KEYS = {"words", "tokens", "stopwords"}
PIECES = WORDS + MARKS + SPACES + BREAKS + ODD


@st.composite
def documents(draw) -> str:
    """Lines from a small pool (so lines and paragraphs repeat) joined by line breaks."""
    piece = st.sampled_from(PIECES)
    spaced = st.lists(st.one_of(piece, st.sampled_from(WORDS + SPACES[:3])), max_size=12)
    pool = draw(st.lists(spaced.map("".join), min_size=1, max_size=4))
    lines = draw(st.lists(st.sampled_from(pool), max_size=10))
    breaks = draw(st.lists(st.sampled_from(BREAKS + SPACES), min_size=len(lines), max_size=len(lines)))
    return "".join(line + sep for line, sep in zip(lines, breaks))


ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=60)  # surrogates included


def assert_equal_to_reference(texts: list[str], stopwords: frozenset[str] = STOPWORDS) -> None:
    ours = text_stats_batch(texts, stopwords)
    theirs = reference.text_stats_batch(texts, stopwords)
    for text, a, b in zip(texts, ours, theirs, strict=True):
        assert list(a) == list(b), text  # same keys, same order
        assert a == b, text  # float == float is bit for bit here (no NaN, no -0.0)
        assert [type(v) for v in a.values()] == [int if k in INT_KEYS else float for k in a]


@settings(max_examples=300, deadline=None)
@given(documents())
@example("")
@example(" \t\n\u00a0\u2028 ")
@example("a\r\nb\r\rc\x85d\u2028\n\n\n e \n\n e ")
@example("x_y \ud800 😀 \u00a0 ....... …\n• a\n - b\n\n– c…”\n* d.)\n\n• a\n")
def test_documents_equal_reference(text):
    assert_equal_to_reference([text])


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT)
def test_any_text_equals_reference(text):
    assert_equal_to_reference([text])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(documents(), ANY_TEXT), min_size=1, max_size=8))
def test_batches_equal_reference_and_one_by_one(texts):
    # Equal lines and n-grams in different texts of a batch must never count as repeats.
    assert_equal_to_reference(texts)
    assert text_stats_batch(texts, STOPWORDS) == [text_stats(t, STOPWORDS) for t in texts]
    # The column form (what the quality stage writes from) holds the same numbers and types.
    columns = text_stats_columns(texts, STOPWORDS)
    rows = text_stats_batch(texts, STOPWORDS)
    assert list(columns) == list(rows[0])
    assert [dict(zip(columns, r)) for r in zip(*(c.tolist() for c in columns.values()))] == rows


def test_demo_texts_equal_reference():
    texts = demo_texts()
    assert len(texts) > 500
    stopwords = frozenset(FINEWEB2_STOPWORDS)
    for i in range(0, len(texts), 300):
        assert_equal_to_reference(texts[i : i + 300], stopwords)


def test_no_texts_and_no_stopwords():
    assert text_stats_batch([], STOPWORDS) == []
    assert_equal_to_reference(["w i na się w", ""], frozenset())


# ---------------------------------------------------------------- equality never rests on a hash


def _spans(text: str, pieces: list[str]):
    cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    starts = np.array([text.index(p) for p in pieces], dtype=np.int64)
    ends = starts + np.array([len(p) for p in pieces], dtype=np.int64)
    return cp, starts, ends


def test_colliding_hashes_are_compared_code_point_by_code_point():
    # Every span gets hash 0: only the comparison can tell "ab" from "ba".
    text = "ab|ba|ab|abc"
    cp, starts, ends = _spans(text, ["ab", "ba", "ab", "abc"])
    starts[2] = 6  # the second "ab"
    ends[2] = 8
    zeros = np.zeros(4, dtype=np.uint64)
    table = np.empty(64, dtype=np.int64), np.empty(64, dtype=np.uint64)
    assert K._duplicate_spans(cp, starts, ends, zeros, 4, *table) == (1, 2)


def test_colliding_token_and_ngram_hashes_keep_counts_exact():
    text = "ab ba ab ba cd ab ba ab ba cd x"
    cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    tokens = [m.span() for m in TOKEN_RE.finditer(text)]
    n = len(tokens)
    tok_start = np.array([s for s, _ in tokens], dtype=np.int64)
    tok_len = np.array([e - s for s, e in tokens], dtype=np.int64)
    want_top = np.isin(np.arange(11), (2, 3, 4))
    want_dup = np.isin(np.arange(11), (5, 6, 7, 8, 9, 10))
    sw_cp, sw_off = np.frombuffer("ab".encode("utf-32-le"), dtype=np.uint32), np.array([0, 2])
    sw_key, sw_item = np.empty(16, dtype=np.uint64), np.empty(16, dtype=np.int64)
    sw_mask = K._stopword_table(sw_cp, sw_off, sw_key, sw_item)
    rows, stops = [], None
    real = np.array([hash_of(text[s:e]) for s, e in tokens], dtype=np.uint64)
    for tok_hash in (np.zeros(n, dtype=np.uint64), real):  # every token and n-gram collides
        tid = np.empty(n, dtype=np.int32)
        scratch = (np.empty(64, dtype=np.int64), np.empty(64, dtype=np.uint64))
        stops = K._intern_tokens(cp, n, tok_start, tok_len, tok_hash, tid, *scratch,
                                 np.empty(n, dtype=np.int32), np.empty(n, dtype=np.uint8),
                                 sw_cp, sw_off, sw_key, sw_item, sw_mask)
        assert tid.tolist() == [0, 1, 0, 1, 2, 0, 1, 0, 1, 2, 3]
        row = np.zeros((11, 2), dtype=np.int64)
        K._ngram_counts(n, tok_len, tok_hash, tid, want_top, want_dup, row,
                        np.empty(n + 1, dtype=np.int64), np.empty(n, dtype=np.int64),
                        np.empty(n, dtype=np.uint64), np.empty(n, dtype=np.int64),
                        np.empty(64, dtype=np.int64), np.empty(64, dtype=np.uint64),
                        np.empty(64, dtype=np.int32), np.empty(64, dtype=np.uint8))
        rows.append(row.tolist())
    assert rows[0] == rows[1]
    assert stops == (1, 4)  # with the real hashes: "ab" is the one distinct stop word, 4 times
    s = text_stats(text, frozenset(["ab"]))
    assert [s[f"top_{n}gram_frac"] * len(text) for n in (2, 3, 4)] == pytest.approx(
        [rows[0][n][0] for n in (2, 3, 4)])
    assert s["dup_5gram_frac"] * len(text) == pytest.approx(ref_dup(TOKEN_RE.findall(text), 5))


def hash_of(token: str) -> int:
    """The kernels' token hash (FNV-1a over code points, then murmur3's finalizer)."""
    cp = np.frombuffer(token.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    offsets = np.array([0, len(cp)])
    key, item = np.empty(16, dtype=np.uint64), np.empty(16, dtype=np.int64)
    K._stopword_table(cp, offsets, key, item)  # a table of one word, hashed as tokens are
    return int(key[item == 0][0])


# ---------------------------------------------------------------- from-scratch definitions


def ref_top(tokens: list[str], n: int) -> int:
    grams = [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    if not grams:
        return 0
    gram, count = Counter(grams).most_common(1)[0]
    return len(gram) * count


def ref_dup(tokens: list[str], n: int) -> int:
    seen, chars, i = set(), 0, 0
    while i < len(tokens) - n + 1:
        gram = tuple(tokens[i : i + n])
        if gram in seen:
            chars += sum(map(len, gram))
            i += n
        else:
            seen.add(gram)
            i += 1
    return chars


FEW_WORDS = st.sampled_from(["w", "i", "na", "kot", "pies", "dom", "ą", ",", ".", "się", "123", "…"])


@settings(max_examples=200, deadline=None)
@given(st.lists(FEW_WORDS, min_size=0, max_size=120), st.integers(0, 3))
def test_ngram_fractions_equal_definitions(words, seps):
    # Few distinct words: long repeats, many ties for the top n-gram.
    text = (" " if seps < 2 else "\n").join(words)
    stats = text_stats(text, frozenset())
    tokens = TOKEN_RE.findall(text)
    for n in (2, 3, 4):
        expected = ref_top(tokens, n) / len(text) if text else 0.0
        assert stats[f"top_{n}gram_frac"] == pytest.approx(expected)
    for n in range(5, 11):
        expected = ref_dup(tokens, n) / len(text) if text else 0.0
        assert stats[f"dup_{n}gram_frac"] == pytest.approx(expected)


def test_gopher_and_fineweb_statistics_exact():
    text = "Ala ma 2 koty i psa.\n- punkt pierwszy...\n- punkt drugi…\n\nAla ma 2 koty i psa.\n#tag"
    s = text_stats(text, frozenset(["i", "w"]))
    tokens = TOKEN_RE.findall(text)
    words = [t for t in tokens if t.isalnum()]
    assert s["words"] == len(words) == 17
    assert s["tokens"] == len(tokens)
    assert s["mean_word_len"] == pytest.approx(sum(map(len, words)) / len(words))
    assert s["alpha_words_frac"] == pytest.approx((len(words) - 2) / len(tokens))  # two "2"s
    assert s["hash_ratio"] == pytest.approx(1 / len(tokens))
    assert s["ellipsis_ratio"] == pytest.approx(2 / len(tokens))
    assert s["bullet_lines_frac"] == pytest.approx(2 / 6)  # splitlines keeps the blank line
    assert s["ellipsis_lines_frac"] == pytest.approx(2 / 6)
    assert s["stopwords"] == 1 and s["stopword_frac"] == pytest.approx(2 / 17)
    assert s["dup_line_frac"] == pytest.approx(1 / 5)
    assert s["dup_line_char_frac"] == pytest.approx(len("Ala ma 2 koty i psa.") / len(text))
    assert s["dup_para_frac"] == 0.0
    assert s["line_punct_frac"] == pytest.approx(4 / 5)  # "psa." twice, "...", "…"
    assert s["short_line_frac"] == pytest.approx(5 / 5)
    assert s["newline_ratio"] == pytest.approx(4 / len(tokens))  # the blank line is one break


def test_empty_text_statistics_are_zero():
    s = text_stats("", frozenset(["w"]))
    assert s["words"] == 0 and s["tokens"] == 0
    assert all(v == 0 for v in s.values())


def test_char_classes_split_like_python():
    classes = char_classes()
    assert classes.shape == (0x110000,)
    text = "Zażółć_gęślą 12\u00a0x²\ud800\u2028y\r\n"
    ours = [bool(classes[ord(c)] & K.WORD_RUN) for c in text]
    assert ours == [c.isalnum() for c in text]
    breaks = [c for c in text if classes[ord(c)] & K.LINE_BREAK]
    assert breaks == ["\u2028", "\r", "\n"]
