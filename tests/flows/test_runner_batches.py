"""A phase's tasks go to Prefect in groups (`flows.runners.batches`): every task once, largest
first, groups that shrink as the phase goes so the workers finish together, never fewer groups
than workers; a task of unknown size goes alone."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from flows import runners


@pytest.fixture
def sized():
    """Calls with only their size: an int is a task reading that many bytes, None an unknown."""
    return lambda sizes, workers: runners.batches([SimpleNamespace(input_bytes=s) for s in sizes], workers)


def _simulate(sizes: list[int], groups: list[list[int]], workers: int) -> list[float]:
    """When each worker finishes, taking groups in order as it frees up (time = bytes)."""
    free = [0.0] * workers
    for g in groups:
        w = free.index(min(free))
        free[w] += sum(sizes[i] for i in g)
    return free


@pytest.mark.parametrize("workers", [1, 2, 4, 16])
def test_every_task_once_and_the_workers_finish_together(sized, workers):
    rnd = random.Random(workers)
    sizes = [int(rnd.lognormvariate(17, 1.2)) for _ in range(180)]
    groups = sized(sizes, workers)
    assert sorted(i for g in groups for i in g) == list(range(len(sizes)))
    assert all(g == sorted(g) for g in groups)  # plan order inside a group
    assert len(groups) >= min(workers, len(sizes)) and len(groups) <= 40 * workers
    assert sizes.index(max(sizes)) in groups[0]  # the largest task goes first
    finish = _simulate(sizes, groups, workers)
    assert max(finish) - min(finish) <= max(max(sizes), sum(sizes) / (16 * workers))


def test_many_small_tasks_share_few_prefect_tasks(sized):
    groups = sized([1000] * 178, 2)
    assert len(groups) <= 40 and sum(map(len, groups)) == 178


def test_few_large_tasks_each_go_alone(sized):
    assert sized([10, 30, 20], 4) == [[1], [2], [0]]


def test_a_task_of_unknown_size_goes_alone_first(sized):
    groups = sized([1, 1, None, 1, 1], 1)
    assert groups[0] == [2] and sorted(i for g in groups[1:] for i in g) == [0, 1, 3, 4]


def test_a_phase_without_sizes_is_grouped_by_count(sized):
    groups = sized([None] * 100, 2)
    assert 4 <= len(groups) <= 80 and sorted(i for g in groups for i in g) == list(range(100))
