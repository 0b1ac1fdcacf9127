"""Cleaning and signals on arbitrary noise: what must hold for any input, not just the demo's.

Text from the wild mixes scripts, control characters, markup, broken encodings and odd spaces
in ways no fixture lists; these properties are checked on generated mixtures of all of them.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.clean.config import CleanConfig
from corpus.clean.rules import clean_text
from corpus.quality.catalogue import SIGNALS
from corpus.quality.config import QualityConfig
from corpus.quality.signals import SignalComputer

PIECES = [
    "Ala ma kota.", "Zażółć gęślą jaźń", "ZAŻÓŁĆ", " ", "  ", "\t", "\u00a0", "\u3000", "\n", "\n\n\n",
    "\r\n", "\r", "\u2028", "\x0b", "\x0c", "\x85", "\x00", "\x1b[31m", "\u200b", "\u00ad", "\ufeff",
    "\ufffd", "Ä…", "Ã³", "â€ž", "Ĺ‚", "mi³oœæ", "ﬁ", "Ａ", "<p>", "</div>", "&amp;", "&#261;",
    "<script>x</script>", "<!-- c -->", "Czytaj także: tytuł", "Udostępnij", "© 2024 Firma",
    "O nas | Kontakt | Regulamin", "jan@example.com", "tel. 600 123 456", "(22) 123 45 67",
    "-----", "* * *", "Привет мир", "東京", "😀", "e\u0301", "...", "…", "#tag", "12345",
    "Strona główna » Sport » Piłka", "Ta strona używa plików cookies.", "\u202e", "a" * 300,
]
CFG = CleanConfig()
_LEFT_OVER = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\ufffd\r]")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40))
def test_cleaned_text_is_normalised_and_every_change_is_counted(pieces):
    text = "".join(pieces)
    result = clean_text(text, CFG)
    out = result.text
    assert not _LEFT_OVER.search(out)  # controls, invisibles, U+FFFD and "\r" are gone
    assert "  " not in out and "\n\n\n" not in out and out == out.strip()
    assert " \n" not in out and "\n " not in out and "\t" not in out
    # Every character removed is accounted to a rule (a mask may add some: negative).
    assert len(text) - len(out) == sum(result.chars_removed.values())
    assert set(result.hits) == set(result.chars_removed)
    assert clean_text(text, CFG).text == out  # deterministic


@pytest.fixture(scope="module")
def computer():
    return SignalComputer(QualityConfig())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=30), min_size=1, max_size=6))
def test_signals_of_any_cleaned_text_are_in_range(computer, docs):
    texts = [clean_text("".join(d), CFG).text for d in docs]
    columns = computer.columns(texts, ["{}"] * len(texts))
    assert [s.name for s in SIGNALS] == list(columns)
    for name, values in columns.items():
        assert len(values) == len(texts)
        # (A top n-gram is measured with its tokens joined by spaces, as datatrove does, so
        # "Ala ma kota." has a 4-gram of 13 characters: that fraction can pass 1.)
        if name.endswith(("_frac", "_prob")) and "top_" not in name:
            values = np.asarray(values, dtype=np.float64)
            assert ((values >= 0) & (values <= 1 + 1e-6)).all(), name
        elif isinstance(values, np.ndarray) and values.dtype.kind == "f":
            assert all(math.isfinite(v) and v >= 0 for v in values.tolist()), name
    assert columns["text_v1_chars"].tolist() == [len(t) for t in texts]
