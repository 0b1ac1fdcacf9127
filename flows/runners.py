"""Where a stage's tasks run inside the flow: Prefect task runners and the mappers that use them.

A data stage's tasks are submitted as Prefect tasks to the flow's task runner: a process pool
(`runner.kind: process`), one thread (`serial`), or a Dask cluster (`dask`: an address, or one
local cluster for the whole run). Stages whose tasks do not fan out (train, export) run their
one task inline, in the flow's own thread. I/O-bound stages (downloads) run on threads.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from prefect import task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

import flows.prefect_env  # noqa: F401  (must precede the Prefect import)
from flows.config import PipelineConfig
from kuznia.mappers import Mapper
from kuznia.stage import StageSpec, TaskCall, run_task


@task(name="stage-task", task_run_name="{label}", retries=0)
def stage_task(call: TaskCall, label: str) -> dict:
    """One task of a stage (a batch of parts); its completion marker makes reruns skip it."""
    return run_task(call)


def prefect_mapper(calls: list[TaskCall]) -> list[Any]:
    """Submit each task to the running flow's task runner; failures come back as exceptions.

    A progress artifact (`kuznia-<stage>-<phase>-progress`) follows the tasks as they finish.
    """
    from prefect.futures import as_completed

    stage, phase = calls[0].ctx.stage, calls[0].phase
    futures = [stage_task.submit(c, label=c.label) for c in calls]
    progress = create_progress_artifact(0.0, key=f"kuznia-{stage}-{phase}-progress".replace("_", "-"),
                                        description=f"{stage}: {phase} tasks finished (%)")
    for n, _ in enumerate(as_completed(futures), start=1):
        update_progress_artifact(progress, 100.0 * n / len(futures))
    out: list[Any] = []
    for fut in futures:
        try:
            out.append(fut.result())
        except Exception as e:  # noqa: BLE001 - the driver reports failed tasks together
            out.append(e)
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


def flow_mapper(spec: StageSpec) -> Mapper:
    """The mapper a stage's subflow uses."""
    return prefect_mapper if spec.info.fans_out else inline_prefect_mapper


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
