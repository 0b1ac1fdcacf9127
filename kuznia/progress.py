"""Progress bars, resource figures and the run reporter hook shared by every stage.

`KUZNIA_PROGRESS=0` turns every bar off (the tests set it), `KUZNIA_PROGRESS=1` turns them on
even when stderr is not a terminal (`make demo` sets it), and unset means "on a terminal only".
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
from collections.abc import Iterable, Iterator
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


def progress_enabled() -> bool:
    """Whether progress bars are shown (see the module docstring)."""
    flag = os.environ.get("KUZNIA_PROGRESS")
    if flag is not None:
        return flag != "0"
    return sys.stderr.isatty()


def progress_bar(total: int | None = None, **kwargs: Any):
    """A tqdm bar (disabled unless `progress_enabled()`); kwargs go to tqdm."""
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not progress_enabled(), dynamic_ncols=True, **kwargs)


def progress(items: Iterable[T], total: int | None = None, desc: str = "", **kwargs: Any) -> Iterator[T]:
    """`items` wrapped in a progress bar when bars are on; the items alone otherwise."""
    if not progress_enabled():
        yield from items
        return
    with progress_bar(total, desc=desc, leave=False, **kwargs) as bar:
        for item in items:
            yield item
            bar.update(1)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- run reporter
# Library code (the trainer) reports a run's progress and small summaries through this hook;
# `flows/` registers a reporter that turns them into Prefect artifacts. Without one (a plain
# `kuznia stage`, a test) the calls do nothing, so no library module needs Prefect.


class RunReporter(Protocol):
    """Where a long task's progress and its small summaries go (Prefect artifacts in `flows/`)."""

    def progress(self, key: str, percent: float, description: str) -> None: ...

    def markdown(self, key: str, markdown: str, description: str) -> None: ...

    def table(self, key: str, rows: list[dict], description: str) -> None: ...


_REPORTER: RunReporter | None = None


def run_reporter() -> RunReporter | None:
    """The reporter registered for this process, if any."""
    return _REPORTER


@contextlib.contextmanager
def reporting_to(reporter: RunReporter | None) -> Iterator[None]:
    """Register `reporter` for the block (the previous one comes back after it)."""
    global _REPORTER
    previous, _REPORTER = _REPORTER, reporter
    try:
        yield
    finally:
        _REPORTER = previous


def duration_text(seconds: float) -> str:
    """`1d 02h`, `3h 05m`, `4m 09s`, `12s`: how long, to a useful precision (an ETA)."""
    s = max(0, int(round(seconds)))
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if d:
        return f"{d}d {h:02d}h"
    if h:
        return f"{h}h {m:02d}m"
    return f"{m}m {s % 60:02d}s" if m else f"{s}s"
