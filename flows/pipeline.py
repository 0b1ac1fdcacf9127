"""The Prefect DAG: one subflow per stage, one task per batch of parts.

Thin on purpose: the stages are library functions (`kuznia.driver.run_stage` over a spec from
the registry); this module only puts them in order, gives each a Prefect task runner as its
mapper (`flows/runners.py`), and publishes counts and the report as artifacts
(`flows/artifacts.py`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import State
from prefect.states import Failed

import flows.prefect_env  # noqa: F401  (must precede the Prefect import)
from flows.artifacts import PrefectReporter, artifact_prefix, publish_report, publish_run, publish_stage
from flows.config import DEFAULT_CONFIG, ConfigError, PipelineConfig, load_config
from flows.reporting import TRAINING_REPORT_AFTER, ReportRefresher, refresh_training_report
from flows.runners import dask_cluster, flow_mapper, run_pool, task_runner_for
from kuznia import registry
from kuznia.driver import run_stage
from kuznia.files import DiskFull
from kuznia.lock import LockHeld, hold, hold_run
from kuznia.progress import reporting_to
from kuznia.usage import die_with_parent
from kuznia.registry import UnknownStage
from kuznia.stage import StageError, load_spec


def gpu_slots(stage: str, cfg: PipelineConfig) -> tuple[int, int]:
    """(slots this stage takes, slots the machine has): train takes `train.devices`, other GPU
    stages one; the machine has one per visible GPU (at least what is asked: a CPU run)."""
    wanted = cfg.train.devices if stage == "train" else 1
    import torch

    visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if visible and wanted > visible and cfg.train.device != "cpu":
        raise StageError(f"train.devices={wanted} but this machine shows {visible} GPU(s) "
                         f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')})")
    return wanted, max(visible, wanted)


@contextlib.contextmanager
def gpu_slot(stage: str, log: Callable[[str], None] = print, slots: tuple[int, int] = (1, 1)):
    """Hold this machine's GPUs while a GPU stage runs, so that two pipelines never train on the
    same GPU at once: a lock file (`<tmp>/.kuznia/gpu-<ids>.lock`, ids from CUDA_VISIBLE_DEVICES),
    waited for, which the kernel frees when its holder dies; and, for the Prefect UI, the global
    concurrency limit `kuznia-gpu-<host>-<ids>` (a slot per GPU), of which the stage takes
    `slots[0]` (`gpu_slots`: a training run on N devices takes N). A slot a killed run left taken
    (its lease died with its temporary API server) is given back first: holding the lock proves
    that no live run holds it.
    """
    if not registry.info(stage).gpu:
        yield
        return
    occupy, total = slots
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
    from prefect.concurrency.sync import concurrency

    ids = (os.environ.get("CUDA_VISIBLE_DEVICES") or "all").replace(",", "_")
    name = f"kuznia-gpu-{socket.gethostname()}-{ids}"
    with hold(tempfile.gettempdir(), f"gpu-{ids}", what="the GPU", wait=log):
        with get_client(sync_client=True) as client:
            try:
                limit = client.read_global_concurrency_limit_by_name(name)
            except Exception:  # noqa: BLE001 - ObjectNotFound: create it
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=total))
            else:
                if limit.active_slots:
                    log(f"{name}: giving back {limit.active_slots} slot(s) left taken by a run that died")
                    client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(active_slots=0))
                if limit.limit < total:
                    client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(limit=total))
        log(f"{stage}: taking {occupy} of the {total} slot(s) of {name}")
        with concurrency(name, occupy=occupy, strict=True):
            yield


@flow(name="kuznia-stage", flow_run_name="{stage}", log_prints=True)
def stage_flow(stage: str, cfg: PipelineConfig, work_dir: str, force: bool = False) -> dict | State:
    """Run one stage under the stage contract, its tasks on this flow's task runner.

    A stage that fails for a reason it can state (a StageError: a missing upstream, failed
    tasks with their errors) ends this flow run `Failed` with that reason as its message and
    one log line, not a traceback; anything else is a bug and keeps its traceback.
    """
    logger = get_run_logger()
    spec = load_spec(stage)
    try:
        # The trainer's progress and evaluations become artifacts through the run reporter hook.
        with gpu_slot(stage, logger.info, gpu_slots(stage, cfg)), reporting_to(PrefectReporter(artifact_prefix(cfg))):
            result = run_stage(spec, cfg, Path(work_dir), force=force, mapper=flow_mapper(spec, cfg),
                               workers=cfg.runner.n_workers(), log=logger.info)
    except (StageError, LockHeld, DiskFull) as e:
        logger.error(f"stage {stage} failed: {e}")
        return Failed(message=f"stage {stage} failed: {e}")
    publish_stage(result, artifact_prefix(cfg))
    return {"stage": stage, "skipped": result.skipped, "fingerprint": result.fingerprint,
            "seconds": (result.manifest.get("timings") or {}).get("total")}


def ensure_api() -> None:
    """Start one ephemeral API server for this process and its task workers when no server is set.

    Without this, every process-pool worker would start its own temporary server (seconds each,
    and SQLite lock contention); with PREFECT_API_URL in the environment the workers inherit it.
    """
    if os.environ.get("PREFECT_API_URL"):
        return
    import prefect.server.api.server as srv

    class Server(srv.SubprocessASGIServer):
        def _run_uvicorn_command(self):  # Prefect's command, started so that it dies with us
            real = srv.subprocess.Popen
            srv.subprocess.Popen = functools.partial(real, preexec_fn=die_with_parent)
            try:
                return super()._run_uvicorn_command()
            finally:
                srv.subprocess.Popen = real

    server = Server()
    server.start()
    os.environ["PREFECT_API_URL"] = server.api_url


def _run_stages(cfg: PipelineConfig, names: list[str], force: bool) -> list[dict] | State:
    """The stages in order, each a subflow; the first failure ends the run `Failed` with its
    reason. The report is rebuilt after the stages it shows (on a thread, while the next stage
    runs) and published once, at the end, with a summary of the run on this (the parent) flow
    run. The data stages share one process pool (`run_pool`)."""
    logger = get_run_logger()
    wd = Path(cfg.work_dir).resolve()
    results: list[dict] = []
    failure = None
    report = ReportRefresher(cfg, wd, logger.warning)
    try:
        with dask_cluster(cfg) as run_cfg, run_pool(run_cfg) as pool:
            for name in names:
                spec = load_spec(name)
                if not spec.info.fans_out:  # it may draw in this process: the report is done first
                    report.wait()
                sub = stage_flow.with_options(task_runner=task_runner_for(run_cfg, spec, pool))
                state = sub(stage=name, cfg=run_cfg, work_dir=str(wd), force=force, return_state=True)
                if not state.is_completed():
                    failure = state.message or f"stage {name} ended {state.name}"
                    break
                r = state.result()
                results.append(r)
                if registry.info(name).refreshes_report and not r["skipped"]:
                    report.request()
                if name in TRAINING_REPORT_AFTER and not r["skipped"]:
                    refresh_training_report(cfg, wd, logger.warning)
    finally:
        report.close()
    prefix = artifact_prefix(cfg)
    if any(registry.info(r["stage"]).refreshes_report for r in results):
        publish_report(wd, prefix)
    publish_run(results, failure, wd, prefix, cfg.name)
    if failure:
        return failed(failure)
    return results


def failed(reason: str) -> State:
    """A `Failed` state that carries its reason where `prefect deployment run --watch` shows it:
    in the log (sent before the run ends) and in the state's name, which the watch prints last."""
    get_run_logger().error(reason)
    try:
        from prefect.logging.handlers import APILogHandler

        APILogHandler.flush()
    except Exception:  # noqa: BLE001 - no API logging configured: the name still carries it
        pass
    short = " ".join(reason.split())
    return Failed(message=reason, name="Failed: " + (short if len(short) <= 200 else short[:199] + "…"))


@flow(name="kuznia-pipeline", log_prints=True)
def pipeline(
    config: str = DEFAULT_CONFIG,
    work_dir: str | None = None,
    stages: str | None = None,
    force: bool = False,
    overrides: dict[str, Any] | None = None,
) -> list[dict] | State:
    """The whole DAG (or the chosen stages, in DAG order) for one config file.

    `overrides` are dotted config keys (`{"train.max_steps": 20}`), applied before validation.
    """
    try:
        cfg = load_config(config, work_dir=work_dir, overrides=overrides)
        names = registry.parse_stages(stages)
        with hold_run(cfg.work_dir, config=config):
            return _run_stages(cfg, names, force)
    except (ConfigError, UnknownStage, LockHeld, DiskFull) as e:
        return failed(str(e))


@flow(name="kuznia-one-stage", log_prints=True)
def one_stage(stage: str, config: str = DEFAULT_CONFIG, work_dir: str | None = None, force: bool = False,
              overrides: dict[str, Any] | None = None) -> dict | State:
    """One named stage as its own deployment (`prefect deployment run 'kuznia-one-stage/stage'`)."""
    try:
        cfg = load_config(config, work_dir=work_dir, overrides=overrides)
        names = registry.parse_stages(stage, option="stage")
        with hold_run(cfg.work_dir, config=config, shared=True):
            out = _run_stages(cfg, names, force)
    except (ConfigError, UnknownStage, LockHeld, DiskFull) as e:
        return failed(str(e))
    return out if isinstance(out, State) else out[0]
