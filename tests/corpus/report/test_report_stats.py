"""The report's vectorised reductions against plain Python on random inputs."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pyarrow as pa

from corpus.report.stats import _quantiles, overlap_matrix, threshold_lines
from corpus.select.thresholds import Thresholds


def test_overlap_matrix_equals_a_plain_loop():
    rng = np.random.default_rng(1)
    sources = [f"s{i}" for i in range(7)]
    cid = [f"c{rng.integers(0, 300)}" for _ in range(1500)]
    src = [sources[int(rng.integers(0, 7))] for _ in cid]
    names, matrix = overlap_matrix(pa.table({"cluster_id": cid, "_src": src, "id": [str(i) for i in range(1500)]}))
    want = {(a, b): 0 for a in sources for b in sources}
    members: dict[str, list[str]] = {}
    for c, s in zip(cid, src):
        members.setdefault(c, []).append(s)
    for ss in members.values():
        for s in set(ss):
            if ss.count(s) >= 2:
                want[(s, s)] += 1
        for a, b in combinations(sorted(set(ss)), 2):
            want[(a, b)] += 1
            want[(b, a)] += 1
    got = {(a, b): matrix[i][j] for i, a in enumerate(names) for j, b in enumerate(names)}
    assert got == {k: v for k, v in want.items() if k[0] in names and k[1] in names}
    assert sorted(names) == sorted(set(src))
    assert overlap_matrix(pa.table({"cluster_id": pa.array([], pa.string()), "_src": pa.array([], pa.string()),
                                    "id": pa.array([], pa.string())})) == ([], [])


def test_quantiles_from_histogram():
    edges = np.linspace(0, 100, 101)
    counts = np.ones(100, dtype=np.int64)  # uniform on 0..100
    assert _quantiles(edges, counts) == {"0.05": 5.0, "0.5": 50.0, "0.95": 95.0}
    assert _quantiles(edges, np.zeros(100, np.int64)) == {"0.05": None, "0.5": None, "0.95": None}


def test_threshold_lines_pick_the_named_fields():
    t = Thresholds()
    assert threshold_lines(t, r"^(min|max)_mean_word_len$") == [("max_mean_word_len", 11.0),
                                                                ("min_mean_word_len", 3.0)]
    assert threshold_lines(t.model_copy(update={"min_pl_prob": None}), r"^min_pl_prob$") == []
