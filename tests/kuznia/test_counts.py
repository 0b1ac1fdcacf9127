"""Counts add up like datatrove's stats: nested, key by key, and a fold over task records."""

from __future__ import annotations

import json

import pytest

from kuznia.counts import Counts


def test_nested_counts_add_key_by_key_and_stay_plain_json():
    a = Counts(docs=2, rules={"html": {"hits": 1}}, chars=None)
    b = Counts(docs=3, rules={"html": {"hits": 2}, "nfc": {"hits": 1}}, chars=10)
    total = a + b
    assert total == {"docs": 5, "rules": {"html": {"hits": 3}, "nfc": {"hits": 1}}, "chars": 10}
    assert a == {"docs": 2, "rules": {"html": {"hits": 1}}, "chars": None}  # operands unchanged
    assert json.loads(json.dumps(total)) == total
    assert sum([a, b]) == total


def test_fold_per_key_and_in_total():
    records = [{"source": "b", "counts": {"docs": 1}}, {"source": "a", "counts": {"docs": 2}},
               {"source": "b", "counts": {"docs": 4, "dropped_empty": 1}}]
    by = Counts.by(records, "source")
    assert list(by) == ["a", "b"] and by["b"] == {"docs": 5, "dropped_empty": 1}
    assert Counts.total(r["counts"] for r in records) == {"docs": 7, "dropped_empty": 1}


def test_drop_reasons_share_one_naming():
    c = Counts(documents=3)
    c.drop("empty")
    c.drop("malformed_invalid_json", 2)
    c.add("dropped_too_long", 0)
    assert c == {"documents": 3, "dropped_empty": 1, "dropped_malformed_invalid_json": 2, "dropped_too_long": 0}
    assert c.drops() == {"empty": 1, "malformed_invalid_json": 2}


def test_a_count_and_a_group_do_not_add():
    with pytest.raises(TypeError, match="cannot add"):
        Counts(x=1) + Counts(x={"y": 1})
