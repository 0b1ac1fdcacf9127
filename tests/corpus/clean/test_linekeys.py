"""Line keys (the numba kernel) against their definition in plain Python, and the per-part
document counts: a key counts once per document, only at a document's edges."""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.clean.config import CleanConfig
from corpus.clean.linekeys import document_counts, edge_mask, line_keys
from corpus.clean.rules import rule_control_chars

PIECES = ["Strona", "główna", " » ", " :: ", " / ", " - ", " – ", "Komentarze", "(12)", "(35)", "ZAŻÓŁĆ",
          "zażółć", " ", "\n", "\r\n", "\r", "\u2028", "12", "-", "»", "a", "B", "ß", "İ", "\t", "::",
          "Привет", "東京", "ﬁ", ":", "|", "x|y", "—"]
_LETTERS = re.compile(r"[^\W\d_]+")
_SEP = re.compile(r"(?<=\s)[»›→|•·/>~:–—\-]{1,3}(?=\s)")


def letters(line: str) -> str:
    return "".join(_LETTERS.findall(line.lower()))


def template(line: str) -> str | None:
    """Letters before the second separator (the first when there is one), if any letters."""
    low = line.lower()
    seps = [m for m in _SEP.finditer(low) if letters(low[:m.start()])]
    if not seps:
        return None
    head = letters(low[:seps[1].start() if len(seps) > 1 else seps[0].start()])
    return head or None


def as_cleaning_splits(text: str) -> list[str]:
    """Lines as the repeated-line rule sees them: after control_chars made every break "\\n"."""
    return rule_control_chars(text, CleanConfig())[0].split("\n")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=25), min_size=1, max_size=5))
def test_keys_are_the_letters_of_each_line_and_its_template(docs):
    texts = ["".join(d) for d in docs]
    keys = line_keys(texts)
    lines = [line for t in texts for line in as_cleaning_splits(t)]
    assert len(keys.exact) == len(lines) == keys.starts[-1]
    expect = [letters(line) for line in lines]
    tmpl = [template(line) for line in lines]
    for i in range(len(lines)):
        assert (keys.exact[i] == 0) == (expect[i] == ""), lines[i]
        assert (keys.template[i] == 0) == (tmpl[i] is None), lines[i]
        for j in range(i):
            assert (keys.exact[i] == keys.exact[j]) == (expect[i] == expect[j]), (lines[i], lines[j])
            if tmpl[i] and tmpl[j]:
                assert (keys.template[i] == keys.template[j]) == (tmpl[i] == tmpl[j]), (lines[i], lines[j])
            if tmpl[i] and expect[j]:
                assert keys.template[i] != keys.exact[j]  # a template never equals a line's key


def test_digits_case_and_punctuation_do_not_matter():
    keys = line_keys(["Komentarze (12)\nKOMENTARZE: 35!\n© 2023 Portal\n© 2024 PORTAL."])
    assert keys.exact[0] == keys.exact[1] and keys.exact[2] == keys.exact[3]
    crumbs = line_keys(["Strona główna » Sport » Mecz - relacja\nStrona główna » Sport » Inny tytuł"])
    assert crumbs.template[0] == crumbs.template[1] != 0 and crumbs.exact[0] != crumbs.exact[1]


def test_edge_mask_and_document_counts():
    body = [f"linia treści numer {w}" for w in ("jeden", "dwa", "trzy", "cztery", "pięć", "sześć")]
    docs = ["Menu serwisu\n" + "\n".join(body) + "\nStopka serwisu" for _ in range(3)]
    docs.append("Menu serwisu\nMenu serwisu\ninna treść")  # twice in one document: counted once
    keys = line_keys(docs)
    mask = edge_mask(keys, 2)
    first = keys.of(0)[0]
    assert mask[: len(first)].tolist() == [True, True, False, False, False, False, True, True]
    rows = document_counts(keys, 2)
    assert np.all(rows["hash"][1:] > rows["hash"][:-1])
    count = dict(zip(rows["hash"].tolist(), rows["docs"].tolist()))
    menu, footer = int(first[0]), int(first[-1])
    assert count[menu] == 4 and count[footer] == 3
    assert int(first[3]) not in count  # the middle of a document is not counted
