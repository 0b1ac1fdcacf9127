"""Counts that add up: one mergeable type for every stage's task records and manifests.

As datatrove's stats, a task returns its counts and a stage's `finish` is a fold over its tasks:
`Counts.total(records)` adds them all, `Counts.by(records, "source")` adds them per source.
A `Counts` is a plain `dict` (it goes into JSON task markers and manifests as it is) whose values
are numbers or nested `Counts`; adding two merges them key by key.

Documents a stage leaves out are counted under one naming, `dropped_<reason>` (`dropped_empty`,
`dropped_malformed_invalid_json`), so the funnel and the report read every stage's drops the
same way (`Counts.drops`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

DROPPED = "dropped_"


def dropped(reason: str) -> str:
    """The counter name of documents dropped for `reason`."""
    return DROPPED + reason


def _add(a: Any, b: Any) -> Any:
    if a is None:
        return _copy(b)
    if b is None:
        return _copy(a)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out = Counts(a)
        for k, v in b.items():
            out[k] = _add(out.get(k), v)
        return out
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        raise TypeError(f"cannot add a count {a!r} and a group of counts {b!r}")
    return a + b


def _copy(x: Any) -> Any:
    return Counts({k: _copy(v) for k, v in x.items()}) if isinstance(x, Mapping) else x


class Counts(dict):
    """Nested counters: numbers add, groups merge key by key, a missing key counts as nothing."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for k, v in self.items():
            if isinstance(v, Mapping) and not isinstance(v, Counts):
                self[k] = Counts(v)

    def __add__(self, other: Mapping | int) -> Counts:
        if isinstance(other, int) and other == 0:  # sum() starts from 0
            return _copy(self)
        return _add(self, other)

    __radd__ = __add__

    def add(self, key: str, n: int | float = 1) -> None:
        """Add `n` to one counter (created at 0)."""
        self[key] = self.get(key, 0) + n

    def drop(self, reason: str, n: int = 1) -> None:
        """Count `n` documents dropped for `reason` (`dropped_<reason>`)."""
        self.add(dropped(reason), n)

    def drops(self) -> dict[str, int]:
        """The `dropped_<reason>` counters, by reason (zeros left out)."""
        return {k[len(DROPPED):]: v for k, v in self.items() if k.startswith(DROPPED) and v}

    def sorted(self) -> Counts:
        """The same counts with keys sorted at every level (stable manifests)."""
        return Counts({k: (v.sorted() if isinstance(v, Counts) else v) for k, v in sorted(self.items())})

    @classmethod
    def total(cls, items: Iterable[Mapping | None]) -> Counts:
        """The sum of many counts (None items are skipped)."""
        out = cls()
        for item in items:
            if item is not None:
                out = out + item
        return out

    @classmethod
    def by(cls, records: Iterable[Mapping], key: str, field: str = "counts") -> dict[str, Counts]:
        """`records[i][field]` added up per `records[i][key]`, keys sorted."""
        groups: dict[str, Counts] = {}
        for r in records:
            groups[r[key]] = groups.get(r[key], cls()) + r[field]
        return {k: groups[k] for k in sorted(groups)}
