"""Mappers that run a stage's tasks without Prefect: in this process, on threads, on processes.

A mapper takes a list of `TaskCall`s and returns one result per call, in order; a failed task
yields its exception, so its siblings still run and the driver reports the failures together.
`flows/` adds mappers that submit the same calls as Prefect tasks (process pool or Dask).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import (
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    as_completed,
)
from typing import Any

from kuznia.progress import progress_bar
from kuznia.stage import StageSpec, TaskCall, run_task

Mapper = Callable[[list[TaskCall]], list[Any]]


def serial_mapper(calls: list[TaskCall]) -> list[Any]:
    """Run tasks one after another in this process; an exception is returned, not raised."""
    out = []
    for call in calls:
        try:
            out.append(run_task(call))
        except Exception as e:  # noqa: BLE001 - a failed task must not stop its siblings
            out.append(e)
    return out


def _collect(futures: dict[Future, int], n: int, label: str) -> list[Any]:
    """Results in submission order as they finish, with a progress bar over tasks."""
    results: list[Any] = [None] * n
    with progress_bar(n, desc=label, unit="task") as bar:
        for fut in as_completed(futures):
            results[futures[fut]] = fut.exception() or fut.result()
            bar.update(1)
    return results


def thread_mapper(workers: int) -> Mapper:
    """A mapper over `workers` threads, for tasks that wait on the network rather than the CPU."""

    def mapper(calls: list[TaskCall]) -> list[Any]:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {pool.submit(run_task, c): i for i, c in enumerate(calls)}
            return _collect(futures, len(calls), calls[0].ctx.stage if calls else "")

    return mapper


def process_mapper(workers: int) -> Mapper:
    """A mapper over a pool of `workers` spawned processes, with a progress bar over tasks."""

    def mapper(calls: list[TaskCall]) -> list[Any]:
        if workers <= 1 or len(calls) <= 1:
            return serial_mapper(calls)
        ctx = multiprocessing.get_context("spawn")  # fork is unsafe with threads (torch, prefect)
        with ProcessPoolExecutor(max_workers=min(workers, len(calls)), mp_context=ctx) as pool:
            futures = {pool.submit(run_task, c): i for i, c in enumerate(calls)}
            return _collect(futures, len(calls), f"{calls[0].ctx.stage}/{calls[0].phase}")

    return mapper


def local_mapper(spec: StageSpec, kind: str, workers: int, io_workers: int | None = None) -> Mapper:
    """The mapper for running a stage without Prefect: threads for I/O-bound stages, else
    `serial` or a process pool of `workers` (`dask` needs the flow, so it maps to processes)."""
    if io_workers is not None:
        return thread_mapper(io_workers)
    if kind == "serial" or not spec.info.fans_out:
        return serial_mapper
    return process_mapper(workers)
