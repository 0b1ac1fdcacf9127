"""`decide` rule by rule (reason strings), its order, and the vectorised `decide_table`."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.quality.catalogue import SIGNAL_SCHEMA, SIGNALS
from corpus.quality.config import QualityConfig
from corpus.quality.signals import SignalComputer
from corpus.select.thresholds import REASONS, Thresholds, decide, decide_table

T = Thresholds()


def good() -> dict:
    """Signals of a document that passes every default threshold."""
    row = {s.name: 0.0 for s in SIGNALS if s.type == pa.float32()}
    row.update({
        "text_v1_chars": 5000, "text_v1_truncated": False, "lang_v1_top": "pl",
        "lang_v1_top_prob": 1.0, "lang_v1_pl_prob": 1.0, "gopher_v1_words": 800,
        "gopher_v1_mean_word_len": 5.5, "gopher_v1_alpha_words_frac": 0.85,
        "pl_stopwords_v1_count": 9, "pl_stopwords_v1_frac": 0.2,
        "fineweb_v1_line_punct_frac": 0.9, "fineweb_v1_newline_ratio": 0.02,
        "speakleash_label": "HIGH",
    })
    return row


def test_good_document_is_kept():
    assert decide(good(), T) == (True, None)


@pytest.mark.parametrize(
    "changes,reason",
    [
        ({"text_v1_chars": 0}, "empty"),
        ({"text_v1_chars": 199}, "too_short"),
        ({"speakleash_label": "LOW"}, "speakleash_low"),
        ({"lang_v1_pl_prob": 0.2, "lang_v1_top": "cs"}, "not_polish"),
        ({"gopher_v1_words": 49}, "too_few_words"),
        ({"gopher_v1_words": 100_001}, "too_long"),
        ({"gopher_v1_dup_line_frac": 0.36}, "dup_line_frac"),
        ({"gopher_v1_top_2gram_frac": 0.1}, "top_ngram_2"),
        ({"gopher_v1_top_3gram_frac": 0.13}, "top_ngram_3"),
        ({"gopher_v1_top_4gram_frac": 0.15}, "top_ngram_4"),
        ({"gopher_v1_dup_5gram_frac": 0.21}, "dup_ngram_5"),
        ({"gopher_v1_dup_6gram_frac": 0.19}, "dup_ngram_6"),
        ({"gopher_v1_dup_7gram_frac": 0.17}, "dup_ngram_7"),
        ({"gopher_v1_dup_8gram_frac": 0.16}, "dup_ngram_8"),
        ({"gopher_v1_dup_9gram_frac": 0.14}, "dup_ngram_9"),
        ({"gopher_v1_dup_10gram_frac": 0.13}, "dup_ngram_10"),
        ({"fineweb_v1_line_punct_frac": 0.1}, "line_punct"),
        ({"fineweb_v1_char_dup_frac": 0.11}, "char_dup"),
        ({"fineweb_v1_newline_ratio": 0.3}, "newline_ratio"),
        ({"gopher_v1_mean_word_len": 2.9}, "mean_word_len"),
        ({"gopher_v1_mean_word_len": 11.5}, "mean_word_len"),
        ({"gopher_v1_hash_ratio": 0.2}, "hash_ratio"),
        ({"gopher_v1_ellipsis_ratio": 0.2}, "ellipsis_ratio"),
        ({"gopher_v1_bullet_lines_frac": 0.95}, "bullet_lines"),
        ({"gopher_v1_ellipsis_lines_frac": 0.5}, "ellipsis_lines"),
        ({"gopher_v1_alpha_words_frac": 0.5}, "alpha_words"),
        ({"pl_stopwords_v1_count": 1}, "few_stopwords"),
    ],
)
def test_each_rule_has_its_reason(changes, reason):
    row = {**good(), **changes}
    assert decide(row, T) == (False, reason)
    assert decide_table(pa.Table.from_pylist([row], schema=_schema()), T).to_pylist() == [reason]


def test_thresholds_at_the_boundary_pass():
    row = {**good(), "text_v1_chars": 200, "gopher_v1_dup_line_frac": 0.353,
           "lang_v1_pl_prob": 0.5, "pl_stopwords_v1_count": 2}
    assert decide(row, T) == (True, None)


def test_rules_off_by_default_and_turned_on():
    row = {**good(), "gopher_v1_dup_para_frac": 0.9, "fineweb_v1_short_line_frac": 0.99}
    assert decide(row, T) == (True, None)
    assert decide(row, Thresholds(max_dup_para_frac=0.3)) == (False, "dup_para_frac")
    assert decide(row, Thresholds(max_short_line_frac=0.67)) == (False, "short_lines")
    assert decide({**good(), "text_v1_chars": 10}, Thresholds(min_chars=None)) == (True, None)


def test_first_failing_rule_wins():
    row = {**good(), "text_v1_chars": 100, "lang_v1_pl_prob": 0.0, "pl_stopwords_v1_count": 0}
    assert decide(row, T) == (False, "too_short")
    assert REASONS[0] == "empty" and REASONS[-1] == "few_stopwords"


def test_missing_label_never_fails():
    assert decide({**good(), "speakleash_label": None}, T) == (True, None)
    assert decide({**good(), "speakleash_label": "MEDIUM"}, T) == (True, None)


def _schema() -> pa.Schema:
    return pa.schema([f for f in SIGNAL_SCHEMA if f.name != "id"])


ROW = st.fixed_dictionaries({
    s.name: (
        st.sampled_from([None, "HIGH", "MEDIUM", "LOW"]) if s.name == "speakleash_label"
        else st.sampled_from([None, "pl", "en"]) if s.type == pa.string()
        else st.booleans() if s.type == pa.bool_()
        else st.integers(0, 300) if s.name == "text_v1_chars"
        else st.integers(0, 150_000) if s.name == "gopher_v1_words"
        else st.integers(0, 5) if s.type == pa.int32()
        else st.floats(0, 12, width=32) if s.name == "gopher_v1_mean_word_len"
        else st.floats(0, 1, width=32)
    )
    for s in SIGNALS
})


@settings(max_examples=80, deadline=None)
@given(st.lists(ROW, min_size=1, max_size=30))
def test_vectorised_decide_agrees_row_by_row(rows):
    table = pa.Table.from_pylist(rows, schema=_schema())
    reasons = decide_table(table, T).to_pylist()
    assert reasons == [decide(r, T)[1] for r in rows]


def test_decide_agrees_on_real_signals_at_float32_boundaries():
    # A stored float32 that equals a threshold in float32 but not in float64 must get the
    # same verdict from both paths (both compare in float64).
    row = {**good(), "gopher_v1_dup_line_frac": float(pa.scalar(0.353, pa.float32()).as_py())}
    table = pa.Table.from_pylist([row], schema=_schema())
    assert decide_table(table, T).to_pylist() == [decide(row, T)[1]]


def test_signals_from_text_decide_as_expected():
    computer = SignalComputer(QualityConfig())
    polish = (
        "Wczoraj w Krakowie padał deszcz, a dzisiaj jest już słonecznie i ciepło. Mieszkańcy "
        "miasta wyszli na spacer do parku, który został odnowiony w zeszłym roku przez firmę z "
        "Tarnowa. Na ławkach siedzieli emeryci i czytali gazety, dzieci karmiły kaczki nad "
        "stawem, a studenci grali w piłkę na trawniku obok starej fontanny. Po południu "
        "zrobiło się jednak chłodniej i większość spacerowiczów wróciła do domów na obiad."
    )
    english = (
        "Yesterday it rained in Krakow, but today it is sunny and warm again. The inhabitants "
        "of the city went for a walk in the park, which was renovated last year by a company "
        "from Tarnow. Pensioners sat on the benches reading newspapers, children fed the ducks "
        "by the pond, and students played football on the lawn next to the old fountain."
    )
    assert decide(computer(polish), T) == (True, None)
    assert decide(computer(english), T) == (False, "not_polish")
    assert decide(computer(""), T) == (False, "empty")
    assert decide(computer("Krótko."), T) == (False, "too_short")
    assert not math.isnan(computer(polish)["gopher_v1_mean_word_len"])
