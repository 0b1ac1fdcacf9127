"""Normalisation and shingle hashing: the numpy batch path equals the reference definitions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.dedup.shingles import (
    exact_key,
    normalize_words,
    shingle_batch,
    shingle_hash,
    shingles,
)


def test_words_keep_diacritics_and_drop_punctuation():
    assert normalize_words("Zażółć GĘŚLĄ jaźń! Łąka,łąka... 3-4 razy") == [
        "zażółć", "gęślą", "jaźń", "łąka", "łąka", "3", "4", "razy"]
    # Folding would make these one word; they must stay different.
    assert normalize_words("łąka laka") == ["łąka", "laka"]
    # Decomposed "ą" (a + combining ogonek) is the same word after NFC.
    assert normalize_words("ła\u0328ka") == ["łąka"]
    assert normalize_words(" \t\n„…” — ") == []


def test_shingles_are_word_5grams_and_short_docs_one_shingle():
    assert shingles("a b c d e f") == [b"a b c d e", b"b c d e f"]
    assert shingles("Ala, ma kota.") == [b"ala ma kota"]
    assert shingles("?!") == []


def test_exact_key_ignores_case_punctuation_and_spacing_only():
    assert exact_key("Ala ma kota.") == exact_key("ala  MA\nkota")
    assert exact_key("Ala ma kota.") != exact_key("Ala ma kotą.")
    assert len(exact_key("x")) == 16


def _check_batch(texts: list[str], ngram: int = 5) -> None:
    b = shingle_batch(texts, ngram=ngram)
    assert b.n_docs == len(texts)
    for i, t in enumerate(texts):
        ref = [shingle_hash(s) for s in shingles(t, ngram)]
        assert b.hashes[b.offsets[i] : b.offsets[i + 1]].tolist() == ref, t
        assert b.exact[i] == exact_key(t)
        assert b.words[i] == len(normalize_words(t))
        assert b.chars[i] == len(t)


ALPHABET = st.sampled_from(list("aąbcćdeęfłlńnoóśsźżzAĄŁŻ0129 \t\n.,;!?-–„”…_'\u0301\u0328\u00a0ß€"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(ALPHABET, max_size=80), min_size=0, max_size=6), st.integers(1, 6))
def test_batch_path_equals_reference(texts, ngram):
    _check_batch(texts, ngram)


def test_batch_with_long_word_and_empty_docs():
    _check_batch(["", "x" * 5000 + " y", "   ", "jeden dwa trzy cztery pięć sześć siedem", ""])


def test_batch_is_order_independent_per_doc():
    a = shingle_batch(["pierwszy dokument tutaj", "drugi dokument jest tutaj także"])
    b = shingle_batch(["drugi dokument jest tutaj także"])
    assert np.array_equal(a.hashes[a.offsets[1] :], b.hashes)
