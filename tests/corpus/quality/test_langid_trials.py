"""The compiled trials (corpus/langid_trials.py) against langdetect's own, bit for bit.

langdetect's `Detector.get_probabilities` is the reference: same n-grams, same seeded draws,
same arithmetic in the same order, so `LanguageId.probabilities`, summing in langdetect's own
language order, must equal its numbers exactly, not to a tolerance. In its default sorted order
(the same bytes on every machine) it equals them to rounding.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from demo_corpus import demo_texts
from hypothesis import given, settings
from hypothesis import strategies as st
from langdetect import detector_factory
from langdetect.lang_detect_exception import LangDetectException

import corpus.quality.langid_trials as trials
from corpus.quality.langid import LanguageId, lang_sample

TEXTS = [
    "Ala ma kota, a kot ma Alę. Wczoraj w Krakowie padał deszcz i wszyscy siedzieli w domu.",
    "ZAŻÓŁĆ GĘŚLĄ JAŹŃ. Świętokrzyskie lasy są piękne o każdej porze roku.",
    "The quick brown fox jumps over the lazy dog while the committee discusses the weather.",
    "Příliš žluťoučký kůň úpěl ďábelské ódy a všichni se tomu smáli až do večera.",
    "Быстрая коричневая лиса прыгает через ленивую собаку, а потом убегает в лес.",
    "日本語のテキストです。東京は大きな都市で、たくさんの人が住んでいます。",
    "Zobacz https://example.com/a/b?c=1 albo napisz na adres jan@example.com dzisiaj.",
    "", "12345 !!!", "a", "ab\ud800cd", "Tiếng Việt có dấu", "aааế", "ТЕСТ тест ΑΒΓ αβγ",
    "e",  # one n-gram that no language wins quickly: trials run to langdetect's 1000-draw limit
    "日本",
]


def langdetect_ordered(seed: int) -> LanguageId:
    """A `LanguageId` that sums probabilities in langdetect's factory order, as it does."""
    lid = LanguageId(seed=seed)
    lid._sum_order = lid._factory_order
    return lid


@pytest.fixture(scope="module")
def lid():
    return langdetect_ordered(0)


def langdetect_probabilities(lid: LanguageId, text: str, seed: int) -> np.ndarray | None:
    """langdetect's P(language) for `lid.langs`, None for a text without features."""
    detector_factory.init_factory()
    detector = detector_factory._factory.create()
    detector.seed = seed
    detector.append(text)
    try:
        detector.get_probabilities()
    except LangDetectException:
        return None
    theirs = dict(zip(detector.langlist, detector.langprob))
    return np.array([theirs[lang] for lang in lid.langs])


def demo_samples(per_file: int) -> list[str]:
    """Language samples of the first well-formed texts of each bundled demo file."""
    return [lang_sample(t, 2000) for t in demo_texts(per_file)]


def assert_equal_bits(ours: np.ndarray | None, theirs: np.ndarray | None, text: str) -> None:
    if theirs is None:
        assert ours is None or np.isnan(ours).all(), text
    else:
        assert ours is not None and np.array_equal(ours, theirs), (text, np.abs(ours - theirs).max())


@pytest.mark.parametrize("seed", [0, 12345])
def test_texts_equal_langdetect_bit_for_bit(seed):
    lid = langdetect_ordered(seed)
    for text in TEXTS:
        assert_equal_bits(lid.probabilities(text), langdetect_probabilities(lid, text, seed), text)


def test_default_sorted_sum_equals_langdetect_to_rounding():
    lid = LanguageId(seed=0)
    assert lid._sum_order.tolist() == sorted(lid._sum_order.tolist())
    for text in TEXTS:
        ours, theirs = lid.probabilities(text), langdetect_probabilities(lid, text, 0)
        if theirs is None:
            assert ours is None
        else:
            np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-14)


def test_iteration_limit_text_is_undecided(lid):
    # "e" must actually reach the 1000-draw limit, or the test above would not cover it.
    probs = lid.probabilities("e")
    assert probs.max() < 0.999


def test_demo_samples_equal_langdetect_in_one_batch(lid):
    samples = demo_samples(8)
    assert len(samples) >= 30
    for text, ours in zip(samples, lid.probabilities_batch(samples)):
        assert_equal_bits(ours, langdetect_probabilities(lid, text, 0), text[:80])


WORD = st.text(st.sampled_from(list("aąbcćeęlłnoóśzżAĄŁXYZ") + list("абвгД東京ひ") + [" ", ".", "1"]),
               max_size=14)


@settings(max_examples=40, deadline=None)
@given(st.lists(WORD, min_size=1, max_size=5))
def test_generated_texts_equal_langdetect(lid, texts):
    for text, ours in zip(texts, lid.probabilities_batch(texts)):
        assert_equal_bits(ours, langdetect_probabilities(lid, text, 0), text)


def test_word_stream_is_pythons_getrandbits():
    words = trials._WordStream(42, initial=1000).words
    expected = random.Random(42)
    assert words.tolist() == [expected.getrandbits(32) for _ in range(1000)]
    grown = trials._WordStream(42, initial=1000).grow()
    assert grown.tolist() == words.tolist() + [expected.getrandbits(32) for _ in range(1000)]


def test_short_word_stream_grows_to_the_same_result(lid, monkeypatch):
    texts = ["e", TEXTS[0], "", TEXTS[4]]
    expected = lid.probabilities_batch(texts)
    streams = []

    def short_stream(seed):
        streams.append(trials._WordStream(seed, initial=8))
        return streams[-1]

    monkeypatch.setattr(trials, "_words", short_stream)
    got = lid.probabilities_batch(texts)
    assert np.array_equal(got, expected, equal_nan=True)
    assert len(streams[0].words) >= 1024  # "e" alone needs thousands of words


def test_batch_equals_one_by_one_and_is_deterministic(lid):
    texts = TEXTS
    batch = lid.probabilities_batch(texts)
    for text, probs in zip(texts, batch):
        assert np.array_equal(probs, lid.probabilities_batch([text])[0], equal_nan=True)
    assert np.array_equal(batch, langdetect_ordered(0).probabilities_batch(texts), equal_nan=True)
    assert lid.probabilities_batch([]).shape == (0, len(lid.langs))
