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

from prefect import task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

import flows.prefect_env  # noqa: F401  (must precede the Prefect import)
from flows.config import PipelineConfig
from kuznia.mappers import Mapper, serial_mapper
from kuznia.stage import StageSpec, TaskCall, load_spec, run_task


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


def _input_bytes(call: TaskCall) -> int | None:
    """The bytes a task reads (its phase's `inputs`), None when the phase does not say."""
    inputs = load_spec(call.spec_ref).phase(call.phase).inputs
    paths = inputs(call.ctx, call.task) if inputs else None
    if paths is None:
        return None
    return sum(p.stat().st_size for p in paths if p.is_file())


def batches(calls: list[TaskCall], workers: int, batch_bytes: int) -> list[list[TaskCall]]:
    """Consecutive tasks grouped so that a Prefect task reads about `batch_bytes` (never more
    than the phase's bytes / (4 x workers), so that the workers stay evenly loaded): a Prefect
    task costs ~0.1 s of dispatch, as long as a small docs part takes to clean. A task whose
    phase does not list its inputs, or as large as the target, goes alone."""
    sizes = [_input_bytes(c) for c in calls]
    known = [s for s in sizes if s is not None]
    target = min(batch_bytes, sum(known) // (4 * max(workers, 1))) if known else 0
    out: list[list[TaskCall]] = []
    batch: list[TaskCall] = []
    held = 0
    for call, size in zip(calls, sizes):
        if size is None or size >= target:
            out += [batch, [call]]
            batch, held = [], 0
            continue
        if held + size > target:
            out.append(batch)
            batch, held = [], 0
        batch.append(call)
        held += size
    return [b for b in [*out, batch] if b]


def prefect_mapper(calls: list[TaskCall], batch_bytes: int = 0, workers: int = 1) -> list[Any]:
    """Submit the tasks to the running flow's task runner, small ones together in batches
    (`batches`); failures come back as exceptions, one result per task, in order.

    A progress artifact (`kuznia-<stage>-<phase>-progress`) follows the tasks as they finish.
    """
    from prefect.futures import as_completed

    stage, phase = calls[0].ctx.stage, calls[0].phase
    groups = batches(calls, workers, batch_bytes) if batch_bytes else [[c] for c in calls]
    futures = [stage_task.submit(g[0], label=g[0].label) if len(g) == 1 else
               stage_batch.submit(g, label=f"{g[0].label} (+{len(g) - 1} more)") for g in groups]
    progress = create_progress_artifact(0.0, key=f"kuznia-{stage}-{phase}-progress".replace("_", "-"),
                                        description=f"{stage}: {phase} tasks finished (%)")
    size = {id(f): len(g) for f, g in zip(futures, groups)}
    done = 0
    for fut in as_completed(futures):
        done += size[id(fut)]
        update_progress_artifact(progress, 100.0 * done / len(calls))
    out: list[Any] = []
    for group, fut in zip(groups, futures):
        try:
            res = fut.result()
            out.extend(res if len(group) > 1 else [res])
        except Exception as e:  # noqa: BLE001 - the driver reports failed tasks together
            out.extend([e] * len(group))
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
    return partial(prefect_mapper, batch_bytes=cfg.runner.batch_mb << 20, workers=cfg.runner.n_workers())


def task_runner_for(cfg: PipelineConfig, spec: StageSpec):
    """The Prefect task runner of a stage's subflow."""
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
    return ProcessPoolTaskRunner(max_workers=runner.n_workers())


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
