"""`kuznia.usage`: a task's own memory peak, and the heap a finished task left behind handed back
(a pool worker runs the tasks of every stage of a run)."""

from __future__ import annotations

import os
import sys

import pytest

from kuznia.usage import release_memory, task_usage


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc_trim and /proc are Linux's")
def test_the_heap_of_a_finished_task_goes_back_to_the_os():
    import pyarrow  # noqa: F401  (imported before, as in a worker)

    junk = [bytes(2000) for _ in range(150_000)]  # ~300 MB of blocks from malloc's heap (not mmap)
    keep = junk[::1000]  # a few survivors scattered through it, as a task's results are
    del junk
    before = _rss()
    release_memory()
    assert before - _rss() > 100 << 20
    assert len(keep) == 150


def test_a_tasks_peak_is_its_own():
    big = bytearray(300 << 20)
    big[::4096] = b"x" * len(big[::4096])
    del big
    with task_usage() as usage:
        small = bytearray(10 << 20)
        small[::4096] = b"y" * len(small[::4096])
    assert usage["rss_peak_bytes"] < _rss() + (100 << 20)  # the 300 MB before it is not counted
    assert usage["cpu_s"] >= 0
