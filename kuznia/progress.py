"""Progress bars and resource figures shared by every stage.

`KUZNIA_PROGRESS=0` turns every bar off (the tests set it), `KUZNIA_PROGRESS=1` turns them on
even when stderr is not a terminal (`make demo` sets it), and unset means "on a terminal only".
"""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

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
