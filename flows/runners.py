"""Where a stage's tasks run inside the flow: Prefect task runners and the mappers that use them.

A data stage's tasks are submitted as Prefect tasks to the flow's task runner: a process pool
(`runner.kind: process`), one thread (`serial`), or a Dask cluster (`dask`: an address, or one
local cluster for the whole run). Stages whose tasks do not fan out (train, export) run their
one task inline, in the flow's own thread. I/O-bound stages (downloads) run on threads.
"""

from __future__ import annotations

import contextlib
from functools import partial
from collections.abc import Iterator
from typing import Any

import psutil
from prefect import task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

import flows.prefect_env  # noqa: F401  (must precede the Prefect import)
from flows.config import PipelineConfig
from kuznia.mappers import Mapper, serial_mapper
from kuznia.stage import StageSpec, TaskCall, run_task


@task(name="stage-task", task_run_name="{label}", retries=0)
def stage_task(call: TaskCall, label: str) -> dict:
    """One task of a stage (a batch of parts); its completion marker makes reruns skip it."""
    return run_task(call)


@task(name="stage-tasks", task_run_name="{label}", retries=0)
def stage_batch(calls: list[TaskCall], label: str) -> list[Any]:
    """Several small tasks of a stage in one Prefect task, one after another, each with its own
    marker (a kill mid-batch loses only the unfinished ones). A failed task's exception is
    returned in its place so that its siblings still run; the driver reports it and fails the
    stage (the Prefect task itself ends Completed)."""
    return serial_mapper(calls)


def batches(calls: list[TaskCall], workers: int) -> list[list[int]]:
    """The tasks of a phase grouped into Prefect tasks (indices into `calls`), heaviest first.

    A Prefect task costs ~0.1 s of dispatch in the flow's process, as long as many of our tasks
    take, so a phase of many small tasks would spend its time there; one of few large tasks
    must still keep every worker busy to the end. Guided self-scheduling does both: tasks are
    taken by input bytes (`TaskCall.input_bytes`), largest first, and each group takes about
    1/(2 x workers) of what is left (at least 1/(32 x workers) of the phase), so the groups
    shrink as the phase goes and the last ones fill the workers' tails. A task whose phase does
    not say its size in a phase that says the others' goes alone, first; when no task says, each
    counts the same."""
    sizes = [c.input_bytes for c in calls]
    if all(s is None for s in sizes):
        sizes = [1] * len(calls)
    out = [[i] for i, s in enumerate(sizes) if s is None]
    order = sorted((i for i, s in enumerate(sizes) if s is not None), key=lambda i: (-sizes[i], i))
    left = sum(sizes[i] for i in order)
    floor = left / (32 * max(workers, 1))
    group: list[int] = []
    held = target = 0.0
    for i in order:
        if group and held + sizes[i] > target:  # full: the next group starts with this task
            out.append(sorted(group))
            left -= held
            group, held = [], 0.0
        if not group:
            target = max(left / (2 * max(workers, 1)), floor)
        group.append(i)
        held += sizes[i]
    return [*out, sorted(group)] if group else out


def prefect_mapper(calls: list[TaskCall], batch: bool = True, workers: int = 1) -> list[Any]:
    """Submit the tasks to the running flow's task runner, grouped (`batches`) unless `batch` is
    off; failures come back as exceptions, one result per task, in the order of `calls`.

    A progress artifact (`kuznia-<stage>-<phase>-progress`) follows the tasks as they finish.
    """
    from prefect.futures import as_completed

    stage, phase = calls[0].ctx.stage, calls[0].phase
    groups = batches(calls, workers) if batch else [[i] for i in range(len(calls))]
    futures = [stage_task.submit(calls[g[0]], label=calls[g[0]].label) if len(g) == 1 else
               stage_batch.submit([calls[i] for i in g], label=f"{calls[g[0]].label} (+{len(g) - 1} more)")
               for g in groups]
    progress = create_progress_artifact(0.0, key=f"kuznia-{stage}-{phase}-progress".replace("_", "-"),
                                        description=f"{stage}: {phase} tasks finished (%)")
    size = {id(f): len(g) for f, g in zip(futures, groups)}
    done = 0
    for fut in as_completed(futures):
        done += size[id(fut)]
        update_progress_artifact(progress, 100.0 * done / len(calls))
    out: list[Any] = [None] * len(calls)
    for group, fut in zip(groups, futures):
        try:
            res = fut.result()
            results = res if len(group) > 1 else [res]
        except Exception as e:  # noqa: BLE001 - the driver reports failed tasks together
            results = [e] * len(group)
        for i, r in zip(group, results):
            out[i] = r
    return out


def inline_prefect_mapper(calls: list[TaskCall]) -> list[Any]:
    """Run each task as a Prefect task in this thread (train, export): the training loop turns
    SIGTERM (a cancelled flow run) into a clean save-and-exit, which only the main thread can."""
    out: list[Any] = []
    for call in calls:
        try:
            out.append(stage_task(call, label=call.label))
        except Exception as e:  # noqa: BLE001
            out.append(e)
    return out


def flow_mapper(spec: StageSpec, cfg: PipelineConfig) -> Mapper:
    """The mapper a stage's subflow uses."""
    if not spec.info.fans_out:
        return inline_prefect_mapper
    return partial(prefect_mapper, batch=cfg.runner.batch, workers=cfg.runner.n_workers())


class SharedProcessPool(ProcessPoolTaskRunner):
    """One process pool for all the stages of a run (`run_pool`): each stage's subflow enters it
    (the flow engine enters `duplicate()`, which is the pool itself) and it shuts down when the
    run leaves it. A pool per stage would start and import its workers again each time (~1-3 s
    a stage on 2 cores, and numba's kernels loaded again)."""

    def __init__(self, max_workers: int, recycle_bytes: int = 0):
        super().__init__(max_workers=max_workers)
        self._users = 0
        self.recycle_bytes = recycle_bytes

    def duplicate(self) -> SharedProcessPool:
        return self

    def __reduce__(self):
        """Each task takes its flow (and so this runner) along, pickled: as a plain runner,
        without the live queue and executor that cannot cross to a worker."""
        return (ProcessPoolTaskRunner, (self._max_workers,))

    def __enter__(self) -> SharedProcessPool:
        if self._users == 0 or self._executor is None or self._grown():  # first use, cancelled, grown
            if self._started:
                super().__exit__(None, None, None)
            super().__enter__()
        self._users += 1
        return self

    def worker_rss(self) -> list[int]:
        """Resident bytes of each live worker."""
        out = []
        for pid in list(getattr(self._executor, "_processes", None) or {}):
            try:
                out.append(psutil.Process(pid).memory_info().rss)
            except psutil.Error:  # exited meanwhile
                pass
        return out

    def _grown(self) -> bool:
        """Between stages (nothing runs): has an idle worker kept more than `recycle_bytes`
        (what a stage's tasks leave in a long-lived process: caches, module state, heap the
        allocator keeps)? Then the next stage starts on fresh workers."""
        held = max(self.worker_rss(), default=0)
        if not self.recycle_bytes or held <= self.recycle_bytes:
            return False
        self.logger.info(f"a pool worker holds {held / 2**20:,.0f} MiB between stages "
                         f"(runner.recycle_mb {self.recycle_bytes >> 20}): the next stage starts fresh workers")
        return True

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        self._users -= 1
        if self._users == 0:
            super().__exit__(exc_type, exc_value, traceback)


@contextlib.contextmanager
def run_pool(cfg: PipelineConfig) -> Iterator[SharedProcessPool | None]:
    """With `runner: process`, the pool the run's data stages share (None otherwise)."""
    if cfg.runner.kind != "process":
        yield None
        return
    with SharedProcessPool(cfg.runner.n_workers(), cfg.runner.recycle_mb << 20) as pool:
        yield pool


def task_runner_for(cfg: PipelineConfig, spec: StageSpec, pool: SharedProcessPool | None = None):
    """The Prefect task runner of a stage's subflow (`pool`: the run's shared process pool)."""
    runner = cfg.runner
    if spec.io_workers is not None:
        return ThreadPoolTaskRunner(max_workers=spec.io_workers(cfg))
    if runner.kind == "serial" or not spec.info.fans_out:
        return ThreadPoolTaskRunner(max_workers=1)
    if runner.kind == "dask":
        from prefect_dask import DaskTaskRunner

        if runner.address:
            return DaskTaskRunner(address=runner.address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": runner.n_workers(), "threads_per_worker": 1,
                                              "processes": True, "host": "127.0.0.1"})
    return pool or ProcessPoolTaskRunner(max_workers=runner.n_workers())


@contextlib.contextmanager
def dask_cluster(cfg: PipelineConfig) -> Iterator[PipelineConfig]:
    """With `runner: dask` and no address, one local cluster (127.0.0.1) for the whole run; the
    config handed to the stages then carries its address, so every stage uses the same workers."""
    if cfg.runner.kind != "dask" or cfg.runner.address:
        yield cfg
        return
    from distributed import LocalCluster

    with LocalCluster(n_workers=cfg.runner.n_workers(), threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster:
        runner = cfg.runner.model_copy(update={"address": cluster.scheduler_address})
        yield cfg.model_copy(update={"runner": runner})
