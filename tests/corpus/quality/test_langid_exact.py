"""The compiled n-gram extraction (corpus/langid.py) against langdetect's own, n-gram for n-gram.

langdetect's `Detector.append` + `_extract_ngrams` are the reference: `LanguageId.ngram_rows_batch`
must give the profile rows of exactly its n-grams, in its order, since the random trials pick
them by position.
"""

from __future__ import annotations

import numpy as np
import pytest
from demo_corpus import demo_texts
from hypothesis import given, settings
from hypothesis import strategies as st
from langdetect import detector_factory
from langdetect.utils.ngram import NGram

from corpus.quality.langid import _MAIL_RE, LanguageId, _drop_mail, lang_sample

EDGE_TEXTS = [
    "", "   ", "a", "Ab. cD ef!", "ŁÓDŹ łódź DOM dom XyZ AbC", "12345 67890 !!! ???",
    "Привет, мир! ABC Def ĄĘ 123 東京 ひらがな カタカナ 한국어",
    "http://x.pl/a ala@b.pl ma kota", "ТЕСТ тест ΑΒΓ αβγ", "Tiếng Việt có dấu",
    "\U0001d400\U0001d401c \U0001d400b", "x" * 5 + " " + "ZAŻÓŁĆ GĘŚLĄ JAŹŃ" + "—" * 3,
    "東京 abc", "ab\ud800cd",  # a lone surrogate must not break the UTF-32 encoding
    "aааế",  # langdetect counts ế (U+1EBF) as non-Latin, so the "a" goes
]


@pytest.fixture(scope="module")
def lid():
    return LanguageId(seed=0)


def langdetect_rows(lid: LanguageId, text: str) -> list[int]:
    """Rows of the n-grams langdetect itself extracts from `text`, in its order."""
    detector_factory.init_factory()
    detector = detector_factory._factory.create()
    detector.append(text)
    detector.cleaning_text()  # as Detector._detect_block does before extracting
    return [lid._index[g] for g in detector._extract_ngrams()]


def demo_samples(per_file: int) -> list[str]:
    """The first `per_file` texts of each bundled demo file, as the quality stage samples them."""
    return [lang_sample(t, 2000) for t in demo_texts(per_file)]


def test_demo_texts_match_langdetect(lid):
    samples = demo_samples(40)
    assert len(samples) >= 100
    ours = lid.ngram_rows_batch(samples)
    for text, rows in zip(samples, ours):
        assert rows.tolist() == langdetect_rows(lid, text)


def test_edge_texts_match_langdetect_alone_and_batched(lid):
    batched = lid.ngram_rows_batch(EDGE_TEXTS)
    for text, rows in zip(EDGE_TEXTS, batched):
        expected = langdetect_rows(lid, text)
        assert rows.tolist() == expected, text
        assert lid.ngram_rows(text) == expected, text
    assert batched[0].tolist() == [] and batched[2].tolist() != []


def test_guess_equals_langdetect_probabilities(lid):
    detector_factory.init_factory()
    text = "Wczoraj w Krakowie padał deszcz, a DZIŚ świeci słońce nad Wisłą."
    detector = detector_factory._factory.create()
    detector.seed = 0
    detector.append(text)
    expected = {p.lang: p.prob for p in detector.get_probabilities()}
    guess = lid.guess(text)
    assert guess.top == "pl"
    # To rounding: the sum runs in sorted language order (bit for bit in langdetect's own
    # order: tests/corpus/test_langid_trials.py).
    assert guess.pl_prob == pytest.approx(expected["pl"], rel=0, abs=1e-14)


def test_text_over_langdetects_limit_is_cut_as_it_cuts(lid):
    # Detector.append keeps the first 10,000 characters (after removing URLs and e-mails).
    text = "http://a.pl/x " + "Ala ma kota. " * 769 + "ДАЛЬШЕ ТЕКСТ по-русски " * 40
    assert len(text) > 10_000
    assert lid.ngram_rows(text) == langdetect_rows(lid, text)


def test_normalize_changes_no_character_outside_the_bmp():
    # _normalised_bmp relies on this; a stride through the planes (the full scan takes ~1 s).
    changed = [c for c in range(0x10000, 0x110000, 7) if NGram.normalize(chr(c)) != chr(c)]
    assert changed == []


ALPHABET = st.sampled_from(
    list("aąbcćeęlłnńoóśzźżAĄCĆEĘŁŃÓŚŹŻxyzXYZ") + list("абвгдАБВГДёЁ") + list("東京日本語ひらカタ한국")
    + list("0123456789") + list(" .,;:!?-—\"'()\n\t") + ["ế", "ệ", "\u0301", "\u0300", "ă", "ș", "ț"]
)
WORDS = st.lists(ALPHABET, max_size=12).map("".join)
TEXT = st.lists(st.one_of(WORDS, st.sampled_from(["http://a.pl/x", "jan@b.pl", "ABC", "Łódź"])),
                max_size=25).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=6))
def test_generated_texts_match_langdetect(lid, texts):
    for text, rows in zip(texts, lid.ngram_rows_batch(texts)):
        assert rows.tolist() == langdetect_rows(lid, text)


@settings(max_examples=60, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=4))
def test_batch_probabilities_equal_single(lid, texts):
    batched = lid.probabilities_batch(texts)
    for text, probs in zip(texts, batched):
        single = lid.probabilities_batch([text])[0]
        assert np.array_equal(probs, single, equal_nan=True)


MAIL_TEXT = st.lists(st.sampled_from(["@", "@@", ".", "-", "_", " ", "a", "Z", "9", "ą", "x" * 70, "b" * 260, "\n"]),
                     max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(MAIL_TEXT)
def test_drop_mail_equals_the_regex_substitution(text):
    assert _drop_mail(text) == _MAIL_RE.sub(" ", text)


def test_drop_mail_examples():
    assert _drop_mail("pisz: jan.kowalski@poczta.pl, ewa@x.y @ a@@b") == "pisz:  ,   @ a@@b"
    assert _drop_mail("x" * 70 + "@b.pl") == "x" * 6 + " "  # at most 64 characters before "@"
    assert _drop_mail("ab@c ab@cd") == "ab@c  "  # the part after "@" needs two characters
