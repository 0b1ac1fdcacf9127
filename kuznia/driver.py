"""The stage driver: run a `StageSpec` under the contract.

`run_stage` skips a stage whose manifest fingerprint matches, wipes a stage folder left by a
run with another fingerprint (unless the spec keeps its outputs), reuses the tasks an
interrupted run finished (each leaves a marker under `_tasks/`), maps the rest with the mapper
it is given (serial, threads, a local process pool, or Prefect/Dask tasks from `flows/`), and
writes the manifest last.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kuznia.files import is_tmp_name, read_json, write_json_atomic
from kuznia.manifest import PACKAGE_VERSION, collect_outputs, fingerprint, read_manifest
from kuznia.mappers import Mapper, serial_mapper
from kuznia.stage import (
    MANIFEST,
    STATE,
    TASKS,
    StageConfig,
    StageContext,
    StageError,
    StageResult,
    StageSpec,
    TaskCall,
    TaskError,
    task_marker,
)


def _prepare_dir(spec: StageSpec, ctx: StageContext) -> None:
    """Start or continue a run in the stage folder; wipe it if it belongs to another fingerprint."""
    d = ctx.dir
    d.mkdir(parents=True, exist_ok=True)
    state_path = d / STATE
    state = read_json(state_path) if state_path.exists() else None
    same = state is not None and state.get("fingerprint") == ctx.fingerprint
    if ctx.force and ctx.source is None:
        same = False
    if not same and not spec.keep_outputs:
        for child in d.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
    elif not same:
        # Keep the outputs (downloads, checkpoints), forget the old task markers.
        shutil.rmtree(d / TASKS, ignore_errors=True)
    (d / MANIFEST).unlink(missing_ok=True)
    # Temp files of tasks killed mid-write (a crash) are never renamed into place: drop them.
    for tmp in [p for p in d.rglob(".*") if is_tmp_name(p.name)]:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
    write_json_atomic(state_path, {"stage": spec.name, "fingerprint": ctx.fingerprint})


def _finished_record(marker: Path) -> dict:
    """A finished task's record as its marker keeps it (less where it ran)."""
    record = read_json(marker)
    record.pop("worker", None)
    return record


def _run_phase(spec: StageSpec, phase, ctx: StageContext, mapper: Mapper,
               log: Callable[[str], None]) -> tuple[list[dict], list[str], list[str]]:
    """Plan a phase, reuse finished tasks, map the rest: (records in plan order, failures,
    ids of tasks left for another `--source`)."""
    tasks = phase.plan(ctx)
    ids = [t["id"] for t in tasks]
    if len(set(ids)) != len(ids):
        raise StageError(f"[{spec.name}] phase '{phase.name}' planned duplicate task ids")
    done: dict[str, dict] = {}
    todo: list[dict] = []
    for t in tasks:
        marker = task_marker(ctx, phase.name, t["id"])
        redo = ctx.force and ctx.source is not None and t.get("source") == ctx.source
        if marker.exists() and not redo:
            done[t["id"]] = _finished_record(marker)
        elif ctx.source is None or t.get("source") in (None, ctx.source):
            todo.append(t)
    if done:
        log(f"[{spec.name}] {phase.name}: reusing {len(done)} finished task(s) of {len(tasks)}")
    calls = [TaskCall(spec.ref, phase.name, ctx, t) for t in todo]
    failed: list[str] = []
    for t, r in zip(todo, mapper(calls) if calls else []):
        if isinstance(r, BaseException):
            failed.append(f"{phase.name}/{t['id']}: {type(r).__name__}: {r}")
        else:
            done[t["id"]] = r
    missing = [i for i in ids if i not in done]
    return [done[i] for i in ids if i in done], failed, missing


def run_stage(
    spec: StageSpec,
    cfg: Any,
    work_dir: Path | str,
    *,
    force: bool = False,
    source: str | None = None,
    mapper: Mapper = serial_mapper,
    workers: int | None = None,
    log: Callable[[str], None] = print,
) -> StageResult:
    """Run a stage under the contract; see the module docstring.

    `cfg` is the pipeline config or a mapping of the sections the stage reads
    (`{"clean": CleanConfig()}`); `workers` is how many tasks the mapper runs at once.
    """
    work_dir = Path(work_dir)
    scfg = StageConfig.of(cfg, spec.config_keys)
    fp = fingerprint(spec, scfg, work_dir)
    ctx = StageContext(spec.name, spec.info.folder, work_dir, scfg, fp, force=force, source=source)
    if workers:
        ctx.workers = workers
    existing = read_manifest(ctx.dir)
    if existing and existing.get("fingerprint") == fp and not force:
        log(f"[{spec.name}] up to date ({ctx.dir / MANIFEST}), skipped")
        return StageResult(spec.name, True, fp, existing, ctx.dir / MANIFEST)

    t_start = time.perf_counter()
    _prepare_dir(spec, ctx)
    records: dict[str, list[dict]] = {}
    timings: dict[str, float] = {}
    for phase in spec.phases:
        t0 = time.perf_counter()
        records[phase.name], failed, missing = _run_phase(spec, phase, ctx, mapper, log)
        timings[phase.name] = round(time.perf_counter() - t0, 3)
        if failed:
            raise TaskError(
                f"[{spec.name}] {len(failed)} task(s) failed; finished tasks are kept and a "
                f"re-run does only the rest:\n  " + "\n  ".join(failed)
            )
        if missing:
            log(f"[{spec.name}] {len(missing)} task(s) of other sources not run yet; "
                "manifest not written (run without --source to finish the stage)")
            return StageResult(spec.name, False, fp, {}, None, [])

    summary = spec.finish(ctx, records) or {}
    manifest = {
        "stage": spec.name,
        "fingerprint": fp,
        "version": PACKAGE_VERSION,
        "config": {k: scfg.section_json(k) for k in spec.config_keys},
        "upstream": list(spec.upstream),
        "counts": summary.get("counts", {}),
        **{k: v for k, v in summary.items() if k not in ("counts", "outputs")},
        "outputs": summary.get("outputs") or collect_outputs(ctx.dir),
        "timings": {**timings, "total": round(time.perf_counter() - t_start, 3)},
    }
    write_json_atomic(ctx.dir / MANIFEST, manifest)
    log(f"[{spec.name}] done in {manifest['timings']['total']:.1f}s -> {ctx.dir}")
    return StageResult(spec.name, False, fp, manifest, ctx.dir / MANIFEST)
