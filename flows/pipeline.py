"""The Prefect DAG: one subflow per stage, one task per batch of parts.

Thin on purpose: the stages are library functions (`kuznia.driver.run_stage` over a spec from
the registry); this module only puts them in order, gives each a Prefect task runner as its
mapper (`flows/runners.py`), and publishes counts and the report as artifacts
(`flows/artifacts.py`).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

import flows.prefect_env  # noqa: F401  (must precede the Prefect import)
from flows.artifacts import publish_report, publish_stage
from flows.config import DEFAULT_CONFIG, PipelineConfig, load_config
from flows.reporting import refresh_report
from flows.runners import dask_cluster, flow_mapper, task_runner_for
from kuznia import registry
from kuznia.driver import run_stage
from kuznia.stage import load_spec


@contextlib.contextmanager
def gpu_slot(stage: str):
    """Hold the global concurrency limit `kuznia-gpu-<id>` (1 slot) while a GPU stage runs.

    Two pipelines on one machine would otherwise train on the same GPU at once. The limit is
    created on first use; `<id>` is CUDA_VISIBLE_DEVICES (all GPUs the process may see).
    """
    if not registry.info(stage).gpu:
        yield
        return
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.concurrency.sync import concurrency

    name = "kuznia-gpu-" + (os.environ.get("CUDA_VISIBLE_DEVICES") or "all").replace(",", "_")
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except Exception:  # noqa: BLE001 - ObjectNotFound: create it
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
    with concurrency(name, occupy=1, strict=True):
        yield


@flow(name="kuznia-stage", flow_run_name="{stage}", log_prints=True)
def stage_flow(stage: str, cfg: PipelineConfig, work_dir: str, force: bool = False) -> dict:
    """Run one stage under the stage contract, its tasks on this flow's task runner."""
    logger = get_run_logger()
    spec = load_spec(stage)
    with gpu_slot(stage):
        result = run_stage(spec, cfg, Path(work_dir), force=force, mapper=flow_mapper(spec),
                           workers=cfg.runner.n_workers(), log=logger.info)
    publish_stage(result)
    return {"stage": stage, "skipped": result.skipped, "fingerprint": result.fingerprint}


def ensure_api() -> None:
    """Start one ephemeral API server for this process and its task workers when no server is set.

    Without this, every process-pool worker would start its own temporary server (seconds each,
    and SQLite lock contention); with PREFECT_API_URL in the environment the workers inherit it.
    """
    if os.environ.get("PREFECT_API_URL"):
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    os.environ["PREFECT_API_URL"] = server.api_url


def _run_stages(cfg: PipelineConfig, names: list[str], force: bool) -> list[dict]:
    wd = Path(cfg.work_dir).resolve()
    results = []
    with dask_cluster(cfg) as run_cfg:
        for name in names:
            sub = stage_flow.with_options(task_runner=task_runner_for(run_cfg, load_spec(name)))
            r = sub(stage=name, cfg=run_cfg, work_dir=str(wd), force=force)
            if registry.info(name).refreshes_report and not r["skipped"]:
                refresh_report(cfg, wd, get_run_logger().warning)
            results.append(r)
    if any(registry.info(n).refreshes_report for n in names):
        publish_report(wd)
    return results


@flow(name="kuznia-pipeline", log_prints=True)
def pipeline(
    config: str = DEFAULT_CONFIG,
    work_dir: str | None = None,
    stages: str | None = None,
    force: bool = False,
    overrides: dict[str, Any] | None = None,
) -> list[dict]:
    """The whole DAG (or the chosen stages, in DAG order) for one config file.

    `overrides` are dotted config keys (`{"train.max_steps": 20}`), applied before validation.
    """
    cfg = load_config(config, work_dir=work_dir, overrides=overrides)
    return _run_stages(cfg, registry.parse_stages(stages), force)


@flow(name="kuznia-one-stage", log_prints=True)
def one_stage(stage: str, config: str = DEFAULT_CONFIG, work_dir: str | None = None, force: bool = False,
              overrides: dict[str, Any] | None = None) -> dict:
    """One named stage as its own deployment (`prefect deployment run 'kuznia-one-stage/stage'`)."""
    cfg = load_config(config, work_dir=work_dir, overrides=overrides)
    return _run_stages(cfg, registry.parse_stages(stage, option="stage"), force)[0]
