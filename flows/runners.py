"""Mappers that run a stage's tasks: serial, a local process pool, or Prefect tasks.

A mapper takes a module-level function and a list of argument tuples and returns one result per
tuple, in order; a failed task yields its exception, so its siblings still run.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from corpus.stage import Mapper, StageSpec, serial_mapper, thread_mapper


def progress_enabled() -> bool:
    return os.environ.get("KUZNIA_PROGRESS", "1") != "0"


def process_mapper(workers: int, label: str = "tasks") -> Mapper:
    """A mapper over a pool of `workers` spawned processes, with a progress bar over tasks."""

    def mapper(fn: Callable[..., Any], argslist: list[tuple]) -> list[Any]:
        if workers <= 1 or len(argslist) <= 1:
            return serial_mapper(fn, argslist)
        from tqdm.auto import tqdm

        results: list[Any] = [None] * len(argslist)
        ctx = multiprocessing.get_context("spawn")  # fork is unsafe with threads (torch, prefect)
        with ProcessPoolExecutor(max_workers=min(workers, len(argslist)), mp_context=ctx) as pool:
            futures = {pool.submit(fn, *args): i for i, args in enumerate(argslist)}
            bar = tqdm(total=len(futures), desc=label, unit="task", disable=not progress_enabled())
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    results[i] = fut.result()
                except Exception as e:  # noqa: BLE001 - returned, reported by the driver
                    results[i] = e
                bar.update(1)
            bar.close()
        return results

    return mapper


def local_mapper(spec: StageSpec, cfg: Any) -> Mapper:
    """The mapper `kuznia stage` uses (no Prefect): threads for I/O-bound stages, else the
    runner's kind (`serial`, or a process pool; `dask` needs the flow, so it maps to processes)."""
    if spec.io_workers is not None:
        return thread_mapper(spec.io_workers(cfg))
    if cfg.runner.kind == "serial":
        return serial_mapper
    return process_mapper(cfg.runner.n_workers(), spec.name)
