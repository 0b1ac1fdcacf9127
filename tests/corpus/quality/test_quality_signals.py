"""Quality signals: langdetect equivalence, the signal row (text statistics: test_textstats.py)."""

from __future__ import annotations

import pytest
from langdetect import detector_factory
from langdetect.lang_detect_exception import LangDetectException

from corpus.quality.catalogue import SIGNALS
from corpus.quality.config import QualityConfig
from corpus.quality.langid import LanguageId, lang_sample
from corpus.quality.signals import SignalComputer, signals_table, speakleash_label

TEXTS = {
    "pl": "Ala ma kota, a kot ma Alę. Wczoraj w Krakowie padał deszcz i wszyscy siedzieli w domu.",
    "pl_caps": "ZAŻÓŁĆ GĘŚLĄ JAŹŃ. Świętokrzyskie lasy są piękne o każdej porze roku.",
    "en": "The quick brown fox jumps over the lazy dog while the committee discusses the weather.",
    "de": "Der schnelle braune Fuchs springt über den faulen Hund, während es draußen regnet.",
    "cs": "Příliš žluťoučký kůň úpěl ďábelské ódy a všichni se tomu smáli až do večera.",
    "ru": "Быстрая коричневая лиса прыгает через ленивую собаку, а потом убегает в лес.",
    "ja": "日本語のテキストです。東京は大きな都市で、たくさんの人が住んでいます。",
    "mixed": "Polski tekst z wtrąceniem: the quick brown fox, i dalej po polsku o pogodzie.",
    "urls": "Zobacz https://example.com/a/b?c=1 albo napisz na adres jan@example.com dzisiaj.",
    "digits": "12345 67890 !!! ???",
}


@pytest.fixture(scope="module")
def lid():
    return LanguageId(seed=0)


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_probabilities_equal_langdetect(lid, name):
    # Same model, same seeded draws, same algorithm: the library's numbers, to rounding.
    detector_factory.init_factory()
    factory = detector_factory._factory
    factory.seed = 0
    detector = factory.create()
    detector.append(TEXTS[name])
    ours = lid.probabilities(TEXTS[name])
    try:
        detector.get_probabilities()
    except LangDetectException:  # a text without features; we return None
        assert ours is None
        return
    theirs = dict(zip(detector.langlist, detector.langprob))
    assert ours is not None
    for i, lang in enumerate(lid.langs):
        assert ours[i] == pytest.approx(theirs[lang], abs=1e-9)


def test_guess_and_determinism(lid):
    a = lid.guess(TEXTS["pl"])
    assert a.top == "pl" and a.pl_prob > 0.99
    assert LanguageId(seed=0).guess(TEXTS["pl"]) == a
    assert lid.guess(TEXTS["en"]).top == "en"
    assert lid.guess("12345 !!!").top is None


def test_batch_equals_one_by_one(lid):
    texts = [TEXTS[k] for k in sorted(TEXTS)] + ["", "a"]
    batch = lid.guess_batch(texts)
    assert batch == [lid.guess(t) for t in texts]
    computer = SignalComputer(QualityConfig())
    metas = ["{}"] * len(texts)
    assert computer.batch(texts, metas) == [computer(t) for t in texts]


def test_lang_sample_is_bounded_start_and_middle():
    text = " ".join(f"słowo{i}" for i in range(2000))
    sample = lang_sample(text, 200)
    assert len(sample) <= 201
    assert sample.startswith("słowo0 ")
    assert "słowo10" in sample[: 100]
    middle = text[len(text) // 2 : len(text) // 2 + 100]
    assert sample.split(" ")[-2] in middle
    assert lang_sample("krótki", 200) == "krótki"


# ---------------------------------------------------------------- the signal row


def test_signal_row_has_every_column_and_versions():
    computer = SignalComputer(QualityConfig())
    row = computer(TEXTS["pl"] * 3, '{"quality": "low", "words": 10}')
    assert set(row) == {s.name for s in SIGNALS}
    assert row["speakleash_label"] == "LOW"
    assert row["lang_v1_top"] == "pl"
    assert row["text_v1_chars"] == len(TEXTS["pl"] * 3)
    assert all(s.version == 1 for s in SIGNALS)
    table = signals_table(["a"], [row])
    assert table.column_names[0] == "id" and table.num_rows == 1


def test_truncated_document_extrapolates_words():
    cfg = QualityConfig(max_signal_chars=10_000)
    text = ("Ala ma kota. " * 2000).strip()
    row = SignalComputer(cfg)(text)
    assert row["text_v1_truncated"] is True
    assert row["gopher_v1_words"] == pytest.approx(3 * 2000, rel=0.01)


@pytest.mark.parametrize("meta,label", [
    ("{}", None), ('{"quality": "HIGH"}', "HIGH"), ('{"quality": null}', None), ("not json", None),
    ('{"title": "quality"}', None),
])
def test_speakleash_label(meta, label):
    assert speakleash_label(meta) == label
