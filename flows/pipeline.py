"""The Prefect DAG: one subflow per stage, one task per batch of parts.

Thin on purpose: the stages are library functions (`corpus.stage.run_stage` over a spec); this
module only puts them in order, gives them a Prefect task runner as their mapper, and publishes
each stage's counts as artifacts.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import flows.prefect_env  # noqa: F401  (must precede the Prefect import)
from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

from corpus.stage import StageResult, run_stage, run_task
from flows.config import DEFAULT_CONFIG, PipelineConfig, load_config
from flows.stages import DATA_STAGES, parse_stages, spec


@task(name="stage-task", task_run_name="{label}", retries=0)
def stage_task(spec_ref: str, phase: str, ctx: Any, task_spec: dict, label: str) -> dict:
    """One task of a stage (a batch of parts); its completion marker makes reruns skip it."""
    return run_task(spec_ref, phase, ctx, task_spec)


def _label(args: tuple) -> str:
    """`stage/phase/task-id`: the task run's name in the UI."""
    return f"{args[2].stage}/{args[1]}/{args[3]['id']}"


def prefect_mapper(fn, argslist: list[tuple]) -> list[Any]:
    """Submit each task to the running flow's task runner; failures come back as exceptions.

    A progress artifact (`kuznia-<stage>-<phase>-progress`) follows the tasks as they finish.
    """
    from prefect.futures import as_completed

    stage, phase = argslist[0][2].stage, argslist[0][1]
    futures = [stage_task.submit(*args, label=_label(args)) for args in argslist]
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


def inline_prefect_mapper(fn, argslist: list[tuple]) -> list[Any]:
    """Run each task as a Prefect task in this thread (train, export): the training loop turns
    SIGTERM (a cancelled flow run) into a clean save-and-exit, which only the main thread can."""
    out: list[Any] = []
    for args in argslist:
        try:
            out.append(stage_task(*args, label=_label(args)))
        except Exception as e:  # noqa: BLE001
            out.append(e)
    return out


def task_runner_for(cfg: PipelineConfig, stage: str):
    """The Prefect task runner for a stage: only the data stages fan out; I/O-bound stages
    (downloads) use threads."""
    runner = cfg.runner
    io_workers = spec(stage).io_workers
    if io_workers is not None:
        return ThreadPoolTaskRunner(max_workers=io_workers(cfg))
    if runner.kind == "serial" or stage not in DATA_STAGES:
        return ThreadPoolTaskRunner(max_workers=1)
    if runner.kind == "dask":
        from prefect_dask import DaskTaskRunner

        if runner.address:
            return DaskTaskRunner(address=runner.address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": runner.n_workers(), "threads_per_worker": 1,
                                              "processes": True, "host": "127.0.0.1"})
    return ProcessPoolTaskRunner(max_workers=runner.n_workers())


def publish_artifacts(result: StageResult) -> None:
    """The stage's counts as a Prefect markdown + table artifact (keys must be lowercase-dashes)."""
    m = result.manifest or {}
    counts = m.get("counts", {})
    flat = [{"count": k, "value": v} for k, v in _flatten(counts)]
    key = f"kuznia-{result.stage}"
    state = "skipped (up to date)" if result.skipped else "ran"
    md = [f"# Stage `{result.stage}` — {state}", "", f"fingerprint `{result.fingerprint}`", ""]
    if m.get("timings"):
        md.append("timings (s): " + ", ".join(f"{k} {v}" for k, v in m["timings"].items()))
    create_markdown_artifact("\n".join(md), key=key, description=f"stage {result.stage}")
    if flat:
        create_table_artifact(flat[:1000], key=f"{key}-counts", description=f"{result.stage} counts")


def publish_report(work_dir: Path) -> None:
    """The corpus report's summary as Prefect artifacts, with a link to the HTML file."""
    from prefect.artifacts import create_link_artifact

    from corpus.report import load_report_json, summary_markdown, summary_rows

    try:
        rep = load_report_json(work_dir)
    except FileNotFoundError:
        return
    create_markdown_artifact(summary_markdown(rep), key="kuznia-corpus-report", description="corpus report")
    rows = summary_rows(rep)
    if rows:
        create_table_artifact(rows, key="kuznia-corpus-funnel", description="funnel per source")
    html = (work_dir / "corpus" / "reports" / "report.html").resolve()
    create_link_artifact(html.as_uri(), link_text="corpus report (HTML)", key="kuznia-corpus-report-html")


def _flatten(d: Any, prefix: str = ""):
    """Nested counts as (dotted key, value) pairs."""
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _flatten(v, f"{prefix}{k}.")
    else:
        yield prefix.rstrip("."), d


GPU_STAGES = ("train",)


@contextlib.contextmanager
def gpu_slot(stage: str):
    """Hold the global concurrency limit `kuznia-gpu-<id>` (1 slot) while a GPU stage runs.

    Two pipelines on one machine would otherwise train on the same GPU at once. The limit is
    created on first use; `<id>` is CUDA_VISIBLE_DEVICES (all GPUs the process may see).
    """
    if stage not in GPU_STAGES:
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
    with gpu_slot(stage):
        mapper = prefect_mapper if stage in DATA_STAGES else inline_prefect_mapper
        result = run_stage(spec(stage), cfg, Path(work_dir), force=force, mapper=mapper, log=logger.info)
    publish_artifacts(result)
    if stage in ("tokenizer", "tokens") and not result.skipped:
        # The report shows fertility and real token counts once these stages have run.
        from corpus.report import build_report

        try:
            build_report(Path(work_dir), cfg)
        except Exception as e:  # noqa: BLE001 - a report problem must not fail a finished stage
            logger.warning(f"report not rebuilt after {stage}: {e}")
    if stage in ("corpus", "tokenizer", "tokens"):
        publish_report(Path(work_dir))
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


@contextlib.contextmanager
def dask_cluster(cfg: PipelineConfig):
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


def _run_stages(cfg: PipelineConfig, names: list[str], force: bool) -> list[dict]:
    wd = str(Path(cfg.work_dir).resolve())
    results = []
    with dask_cluster(cfg) as run_cfg:
        for name in names:
            sub = stage_flow.with_options(task_runner=task_runner_for(run_cfg, name))
            results.append(sub(stage=name, cfg=cfg, work_dir=wd, force=force))
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
    return _run_stages(cfg, parse_stages(stages), force)


@flow(name="kuznia-one-stage", log_prints=True)
def one_stage(stage: str, config: str = DEFAULT_CONFIG, work_dir: str | None = None, force: bool = False,
              overrides: dict[str, Any] | None = None) -> dict:
    """One named stage as its own deployment (`prefect deployment run 'kuznia-one-stage/stage'`)."""
    cfg = load_config(config, work_dir=work_dir, overrides=overrides)
    return _run_stages(cfg, parse_stages(stage), force)[0]
