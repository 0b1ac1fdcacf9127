"""Small tasks go to Prefect together (`flows.runners.batches`): consecutive, in order, about
`batch_bytes` each, never so few that the workers idle; a task of unknown size goes alone."""

from __future__ import annotations

import pytest

from flows import runners


@pytest.fixture
def sized(monkeypatch):
    """Calls stand for themselves: an int is a task reading that many bytes, None an unknown."""
    monkeypatch.setattr(runners, "_input_bytes", lambda call: call)
    return lambda sizes, workers, batch: runners.batches(list(sizes), workers, batch)


def test_batches_keep_order_and_cover_every_task_once(sized):
    sizes = [5, 1, 1, 1, 30, 1, 2, 2, 2, 2, 9, 1]
    groups = sized(sizes, 1, 8)
    assert [s for g in groups for s in g] == sizes
    # target = min(8, 57 // 4 = 14) = 8: 5+1+1+1 = 8; 30 alone; 1+2+2+2 = 7 (+2 > 8); 2; 9 alone; 1
    assert groups == [[5, 1, 1, 1], [30], [1, 2, 2, 2], [2], [9], [1]]


def test_few_large_tasks_are_never_grouped_below_four_per_worker(sized):
    sizes = [10] * 16
    groups = sized(sizes, 2, 1 << 30)  # target = 160 // 8 = 20: two tasks per batch, 8 batches
    assert len(groups) == 8 and all(len(g) == 2 for g in groups)


def test_a_task_of_unknown_size_goes_alone_and_splits_the_run(sized):
    four = [1, 1, 1, 1]  # target = min(100, 16 // 4) = 4
    assert sized([*four, *four, None, *four, *four], 1, 100) == [four, four, [None], four, four]
