"""The keep-one-per-cluster rule, label and source ranks, and source weights (pure functions)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

from corpus.select.config import CorpusConfig
from corpus.select.rules import (
    copies_for_weight,
    id_draws,
    label_ranks,
    pick_keepers,
    source_rank,
    source_weight,
)

PRIORITY = ["wikipedia", "speakleash", "local"]


def members(rows: list[tuple]) -> pa.Table:
    """rows: (id, cluster_id, source, passes, label, chars)."""
    cols = list(zip(*rows))
    return pa.table({"id": list(cols[0]), "cluster_id": list(cols[1]), "source": list(cols[2]),
                     "passes": pa.array(cols[3], pa.bool_()), "label": pa.array(cols[4], pa.string()),
                     "chars": pa.array(cols[5], pa.int64())})


def keepers(rows: list[tuple], priority=PRIORITY) -> dict:
    t = pick_keepers(members(rows), priority)
    return dict(zip(t.column("cluster_id").to_pylist(), t.column("keeper").to_pylist()))


def test_passing_quality_beats_everything_else():
    assert keepers([("a/1", "c", "speakleash.a", False, "HIGH", 9999),
                    ("b/1", "c", "local.b", True, None, 10)]) == {"c": "b/1"}


def test_label_then_source_then_length_then_id():
    # HIGH beats MEDIUM even from a lower-priority source
    assert keepers([("wikipedia/1", "c", "wikipedia", True, "MEDIUM", 500),
                    ("local.x/1", "c", "local.x", True, "HIGH", 100)]) == {"c": "local.x/1"}
    # label tie (none) -> source priority: wikipedia before speakleash
    assert keepers([("speakleash.a/1", "c", "speakleash.a", True, None, 900),
                    ("wikipedia/1", "c", "wikipedia", True, None, 100)]) == {"c": "wikipedia/1"}
    # label and source tie -> longest
    assert keepers([("speakleash.a/1", "c", "speakleash.a", True, "LOW", 100),
                    ("speakleash.b/1", "c", "speakleash.b", True, "LOW", 101)]) == {"c": "speakleash.b/1"}
    # everything ties -> smallest id
    assert keepers([("speakleash.b/1", "c", "speakleash.b", True, "LOW", 100),
                    ("speakleash.a/2", "c", "speakleash.a", True, "LOW", 100)]) == {"c": "speakleash.a/2"}


def test_any_label_beats_no_label_and_case_is_ignored():
    assert keepers([("a/1", "c", "speakleash.a", True, None, 100),
                    ("a/2", "c", "speakleash.a", True, "low", 50)]) == {"c": "a/2"}
    assert label_ranks(pa.array(["HIGH", "medium", "Low", None, "weird"])).tolist() == [0, 1, 2, 3, 3]


def test_exact_source_name_in_priority_beats_its_kind():
    prio = ["speakleash.best", "wikipedia", "speakleash"]
    assert source_rank("speakleash.best", prio) == 0
    assert source_rank("speakleash.other", prio) == 2
    assert source_rank("local.x", prio) == 3
    assert keepers([("speakleash.other/1", "c", "speakleash.other", True, None, 100),
                    ("wikipedia/1", "c", "wikipedia", True, None, 100),
                    ("speakleash.best/1", "c", "speakleash.best", True, None, 10)], prio) == {
        "c": "speakleash.best/1"}


def test_cluster_without_a_passing_member_has_no_keeper_and_clusters_are_independent():
    got = keepers([("a/1", "c1", "speakleash.a", False, "HIGH", 100),
                   ("a/2", "c1", "speakleash.a", False, "HIGH", 100),
                   ("a/3", "c2", "speakleash.a", True, "LOW", 5),
                   ("a/4", "c2", "speakleash.a", True, "LOW", 6),
                   ("a/5", "c3", "speakleash.a", True, None, 1),
                   ("a/0", "c3", "speakleash.a", True, None, 1)])
    assert got == {"c2": "a/4", "c3": "a/0"}


def test_keeper_does_not_depend_on_row_order():
    rows = [(f"speakleash.s{i % 3}/{i}", f"c{i % 5}", f"speakleash.s{i % 3}", i % 4 != 0,
             [None, "LOW", "MEDIUM", "HIGH"][i % 4], 100 + i % 7) for i in range(60)]
    rng = np.random.default_rng(0)
    shuffled = [rows[i] for i in rng.permutation(len(rows))]
    assert keepers(rows) == keepers(shuffled)
    assert pick_keepers(members(rows).slice(0, 0), PRIORITY).num_rows == 0


def test_source_weight_name_beats_kind_default_one():
    w = {"speakleash": 0.5, "speakleash.big": 0.1}
    assert source_weight("speakleash.big", w) == 0.1
    assert source_weight("speakleash.small", w) == 0.5
    assert source_weight("wikipedia", w) == 1.0


def test_weights_are_seeded_and_proportional():
    ids = [f"speakleash.a/{i:09d}" for i in range(1, 20001)]
    assert copies_for_weight(ids, 1.0, 7).tolist() == [1] * len(ids)
    half = copies_for_weight(ids, 0.5, 7)
    assert set(half.tolist()) == {0, 1}
    assert abs(half.mean() - 0.5) < 0.02
    assert np.array_equal(half, copies_for_weight(ids, 0.5, 7))  # same seed, same choice
    assert not np.array_equal(half, copies_for_weight(ids, 0.5, 8))  # another seed, another one
    # one document's fate does not depend on the others (part boundaries, worker count)
    assert copies_for_weight(ids[100:200], 0.5, 7).tolist() == half[100:200].tolist()
    rep = copies_for_weight(ids, 2.25, 7)
    assert set(rep.tolist()) == {2, 3}
    assert abs(rep.mean() - 2.25) < 0.02
    assert copies_for_weight(ids, 0.0, 7).sum() == 0
    assert copies_for_weight(ids, 3.0, 7).tolist() == [3] * len(ids)


def test_id_draws_range():
    h = id_draws([str(i) for i in range(1000)], 1)
    assert h.min() >= 0.0 and h.max() < 1.0
    assert len(set(h.tolist())) == 1000


@pytest.mark.parametrize("bad", [{"x": -1.0}, {"x": float("nan")}, {"x": 5000.0}])
def test_bad_weights_are_config_errors(bad):
    with pytest.raises(ValidationError, match="weights must be in"):
        CorpusConfig.model_validate({"weights": bad})


def test_target_mixture_must_sum_to_one():
    with pytest.raises(ValidationError, match="sum to 1"):
        CorpusConfig.model_validate({"target_mixture": {"speakleash": 0.5}})
    with pytest.raises(ValidationError, match="more than once"):
        CorpusConfig.model_validate({"source_priority": ["a", "a"]})
