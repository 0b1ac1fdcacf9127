"""What a task cost its worker process: CPU seconds and peak resident memory.

Recorded in every task marker (`usage`), so a run at scale shows per stage how much CPU its tasks
took and how much memory the hungriest task needed (bench/scale.py reads them). The peak is the
task's own: on Linux the process's high-water mark is reset before the task (`/proc/self/
clear_refs`), since a pool worker runs many tasks of many stages; elsewhere it is the process's
peak so far.
"""

from __future__ import annotations

import contextlib
import ctypes
import resource
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

_PROC = Path("/proc/self")


def _reset_peak() -> bool:
    try:
        (_PROC / "clear_refs").write_text("5")  # 5: reset the peak RSS (VmHWM), Linux >= 4.0
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int:
    """This process's peak resident memory (since the last reset on Linux)."""
    try:
        for line in (_PROC / "status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def release_memory() -> None:
    """Hand the heap a finished task left behind back to the OS: a pool worker runs the tasks of
    every stage of a run, and without this its resident memory only grows (what glibc's malloc
    and Arrow's pool keep for reuse), which the next task's peak then counts. No gc.collect():
    ~0.1 s a call in a worker, and reference counting has freed the task's data already."""
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except ImportError:
        pass
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None).malloc_trim(0)
        except (OSError, AttributeError):
            pass


@contextlib.contextmanager
def task_usage() -> Iterator[dict]:
    """Measure the block: the dict it yields gets `cpu_s` and `rss_peak_bytes` at the end."""
    usage: dict = {}
    release_memory()
    _reset_peak()
    cpu0 = time.process_time()
    try:
        yield usage
    finally:
        usage["cpu_s"] = round(time.process_time() - cpu0, 3)
        usage["rss_peak_bytes"] = peak_rss_bytes()


def die_with_parent() -> None:
    """In a child between fork and exec: have the kernel send it SIGTERM when this process dies
    (Linux), so that a `kill -9` of a run does not leave its children (an API server, torchrun)
    running."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
