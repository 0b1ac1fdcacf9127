"""The stage contract: fingerprints, atomic writes, task markers and the `_manifest.json`.

A stage is a `StageSpec`: one or more phases, each a `plan` (a list of small JSON-able tasks)
and a `run` (one task, writing parts atomically under the stage folder and returning a small
record), then a `finish` that turns the records into the manifest's outputs and counts.
`run_stage` drives a spec: it skips a stage whose manifest fingerprint matches, wipes a stage
folder left by a run with another fingerprint, reuses tasks an interrupted run finished (each
finished task leaves a marker under `_tasks/`), maps the rest with the mapper it is given
(serial, a local process pool, or Prefect/Dask tasks from `flows/`), and writes the manifest
last. Nothing here knows about Prefect.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xxhash

MANIFEST = "_manifest.json"
STATE = "_state.json"
TASKS = "_tasks"
PACKAGE_VERSION = "0.1.0"  # part of every fingerprint: a new release re-runs every stage

# Stage name -> folder under work_dir (DESIGN.md, "Data on disk").
STAGE_DIRS = {
    "fetch": "raw",
    "docs": "docs",
    "clean": "clean",
    "quality": "quality",
    "dedup": "dedup",
    "corpus": "corpus",
    "tokenizer": "tokenizer",
    "tokens": "tokens",
    "train": "checkpoints",
    "export": "export",
}


class StageError(RuntimeError):
    """A stage cannot run: a missing upstream, a bad input; the message says how to fix it."""


class TaskError(StageError):
    """One task of a stage failed; the other tasks still ran and their work is kept."""


# --------------------------------------------------------------------------- files


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace variance: the basis of every fingerprint."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def file_checksum(path: Path, chunk_bytes: int = 1 << 22) -> str:
    """xxh3-128 of a file's bytes (fast enough for hundreds of GB, unlike sha256)."""
    h = xxhash.xxh3_128()
    with open(path, "rb") as f:
        while block := f.read(chunk_bytes):
            h.update(block)
    return "xxh3_128:" + h.hexdigest()


def tmp_name(path: Path) -> Path:
    """The temporary name a file is written under before it is renamed into place."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink()


def write_json_atomic(path: Path | str, obj: Any) -> None:
    """Write `obj` as indented JSON with sorted keys, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", "utf-8")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text("utf-8"))


def safe_name(name: str) -> str:
    """Turn a task id into a file name; ids that needed changing get a hash of the original, so
    `a/b` and `a_b` never share a marker."""
    safe = "".join(c if c.isalnum() or c in "-_.=" else "_" for c in name)
    return safe if safe == name else f"{safe}-{xxhash.xxh3_64_hexdigest(name.encode())[:8]}"


# --------------------------------------------------------------------------- specs


@dataclass
class StageContext:
    """What a task sees: the stage, its folder, the whole config and the run's fingerprint."""

    stage: str
    work_dir: Path
    cfg: Any  # flows.config.PipelineConfig (kept untyped: libraries don't import flows)
    fingerprint: str
    force: bool = False
    source: str | None = None

    @property
    def dir(self) -> Path:
        return self.work_dir / STAGE_DIRS[self.stage]

    def upstream_dir(self, stage: str) -> Path:
        return self.work_dir / STAGE_DIRS[stage]


@dataclass
class Phase:
    """One map step of a stage: `plan(ctx) -> [task]`, `run(ctx, task) -> record`.

    A task is a small dict with a unique `"id"` and, when it belongs to one source, `"source"`.
    `run` must be a module-level function (it is pickled to worker processes).
    """

    name: str
    plan: Callable[[StageContext], list[dict]]
    run: Callable[[StageContext, dict], dict]


@dataclass
class StageSpec:
    """A stage: its name, upstream stages, the config sections it depends on, and its phases.

    `ref` is where the spec lives, `"package.module:NAME"`, so worker processes can import it.
    """

    name: str
    ref: str
    upstream: tuple[str, ...]
    config_keys: tuple[str, ...]
    phases: Sequence[Phase]
    finish: Callable[[StageContext, dict[str, list[dict]]], dict]
    # Train keeps its checkpoints when the config changes: resume validates them itself.
    wipe_on_change: bool = True
    # I/O-bound stages (downloads) run their tasks on this many threads rather than a process
    # pool sized by CPU cores: `io_workers(cfg) -> int`.
    io_workers: Callable[[Any], int] | None = None
    # Inputs outside the work dir that the config alone doesn't pin (a user's local files):
    # `inputs(cfg) -> JSON-able` goes into the fingerprint, so changing them re-runs the stage.
    inputs: Callable[[Any], Any] | None = None


@dataclass
class StageResult:
    stage: str
    skipped: bool
    fingerprint: str
    manifest: dict = field(default_factory=dict)
    manifest_path: Path | None = None
    failed_tasks: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- fingerprints


def config_section(cfg: Any, key: str) -> Any:
    """The JSON form of one config section (`cfg.clean`, or a dotted path)."""
    obj = cfg
    for part in key.split("."):
        obj = getattr(obj, part)
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    return obj


def read_manifest(stage_dir: Path) -> dict | None:
    path = stage_dir / MANIFEST
    if not path.exists():
        return None
    try:
        return read_json(path)
    except (OSError, json.JSONDecodeError) as e:
        raise StageError(f"{path} is unreadable ({e}); delete it or re-run with --force") from e


def fingerprint(spec: StageSpec, cfg: Any, work_dir: Path, *, strict: bool = True) -> str | None:
    """Hash of the stage's config sections, the upstream fingerprints and the package version.

    With `strict`, a missing upstream manifest raises a StageError naming the stage to run;
    otherwise None is returned (used by `kuznia status`).
    """
    ups = {}
    for up in spec.upstream:
        m = read_manifest(work_dir / STAGE_DIRS[up])
        if m is None:
            if strict:
                raise StageError(
                    f"stage '{spec.name}' needs the output of stage '{up}' "
                    f"({work_dir / STAGE_DIRS[up] / MANIFEST} is missing); "
                    f"run `kuznia stage {up}` first, or `kuznia run`"
                )
            return None
        ups[up] = m["fingerprint"]
    payload = {
        "stage": spec.name,
        "config": {k: config_section(cfg, k) for k in spec.config_keys},
        "upstream": ups,
        "version": PACKAGE_VERSION,
    }
    if spec.inputs is not None:
        payload["inputs"] = spec.inputs(cfg)
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()[:32]


def stage_status(spec: StageSpec, cfg: Any, work_dir: Path) -> tuple[str, dict | None]:
    """`done` (manifest matches), `stale` (manifest from another config/upstream) or `missing`."""
    m = read_manifest(work_dir / STAGE_DIRS[spec.name])
    if m is None:
        return "missing", None
    fp = fingerprint(spec, cfg, work_dir, strict=False)
    return ("done" if fp == m.get("fingerprint") else "stale"), m


# --------------------------------------------------------------------------- mappers

Mapper = Callable[[Callable[..., dict], list[tuple]], list[Any]]


def serial_mapper(fn: Callable[..., dict], argslist: list[tuple]) -> list[Any]:
    """Run tasks one after another in this process; an exception is returned, not raised."""
    out = []
    for args in argslist:
        try:
            out.append(fn(*args))
        except Exception as e:  # noqa: BLE001 - a failed task must not stop its siblings
            out.append(e)
    return out


def thread_mapper(workers: int) -> Mapper:
    """A mapper over `workers` threads, for tasks that wait on the network rather than the CPU."""
    from concurrent.futures import ThreadPoolExecutor

    def mapper(fn: Callable[..., dict], argslist: list[tuple]) -> list[Any]:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [pool.submit(fn, *args) for args in argslist]
        return [f.exception() or f.result() for f in futures]

    return mapper


def load_spec(ref: str) -> StageSpec:
    """Import a spec from its reference, `"package.module:NAME"` (how workers find a stage)."""
    import importlib

    module, _, attr = ref.partition(":")
    try:
        spec = getattr(importlib.import_module(module), attr or "SPEC")
    except (ImportError, AttributeError) as e:
        raise StageError(f"cannot load stage spec '{ref}': {e}") from e
    if not isinstance(spec, StageSpec):
        raise StageError(f"'{ref}' is not a StageSpec")
    return spec


def task_marker(ctx: StageContext, phase: str, task_id: str) -> Path:
    return ctx.dir / TASKS / phase / (safe_name(task_id) + ".json")


def run_task(spec_ref: str, phase_name: str, ctx: StageContext, task: dict) -> dict:
    """Run one task of a stage in this process and write its completion marker."""
    spec = load_spec(spec_ref)
    phase = next(p for p in spec.phases if p.name == phase_name)
    t0 = time.perf_counter()
    record = phase.run(ctx, task) or {}
    record = {"task": task, "seconds": round(time.perf_counter() - t0, 3), **record}
    write_json_atomic(task_marker(ctx, phase_name, task["id"]), record)
    return record


# --------------------------------------------------------------------------- driver


def _prepare_dir(spec: StageSpec, ctx: StageContext) -> None:
    """Start or continue a run in the stage folder; wipe it if it belongs to another fingerprint."""
    d = ctx.dir
    d.mkdir(parents=True, exist_ok=True)
    state_path = d / STATE
    state = read_json(state_path) if state_path.exists() else None
    same = state is not None and state.get("fingerprint") == ctx.fingerprint
    if ctx.force and ctx.source is None:
        same = False
    if not same and spec.wipe_on_change:
        for child in d.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
    elif not same:
        # Keep the outputs (train checkpoints), forget the old task markers and manifest.
        shutil.rmtree(d / TASKS, ignore_errors=True)
        (d / MANIFEST).unlink(missing_ok=True)
    (d / MANIFEST).unlink(missing_ok=True)
    # Temp files of tasks killed mid-write (a crash) are never renamed into place: drop them.
    for tmp in d.rglob(".*.tmp-*"):
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
    write_json_atomic(state_path, {"stage": spec.name, "fingerprint": ctx.fingerprint})


def collect_outputs(stage_dir: Path) -> list[dict]:
    """Every file under the stage folder but our own bookkeeping, with size and checksum."""
    outs = []
    for p in sorted(stage_dir.rglob("*")):
        rel = p.relative_to(stage_dir)
        if not p.is_file() or rel.parts[0] in (TASKS, MANIFEST, STATE) or ".tmp-" in p.name:
            continue
        outs.append({"path": rel.as_posix(), "bytes": p.stat().st_size, "checksum": file_checksum(p)})
    return outs


def run_stage(
    spec: StageSpec,
    cfg: Any,
    work_dir: Path | str,
    *,
    force: bool = False,
    source: str | None = None,
    mapper: Mapper = serial_mapper,
    log: Callable[[str], None] = print,
) -> StageResult:
    """Run a stage under the contract; see the module docstring."""
    work_dir = Path(work_dir)
    fp = fingerprint(spec, cfg, work_dir)
    ctx = StageContext(spec.name, work_dir, cfg, fp, force=force, source=source)
    existing = read_manifest(ctx.dir)
    if existing and existing.get("fingerprint") == fp and not force:
        log(f"[{spec.name}] up to date ({ctx.dir / MANIFEST}), skipped")
        return StageResult(spec.name, True, fp, existing, ctx.dir / MANIFEST)

    t_start = time.perf_counter()
    _prepare_dir(spec, ctx)
    records: dict[str, list[dict]] = {}
    timings: dict[str, float] = {}
    failed: list[str] = []
    for phase in spec.phases:
        t0 = time.perf_counter()
        tasks = phase.plan(ctx)
        ids = [t["id"] for t in tasks]
        if len(set(ids)) != len(ids):
            raise StageError(f"[{spec.name}] phase '{phase.name}' planned duplicate task ids")
        done: dict[str, dict] = {}
        todo: list[dict] = []
        for t in tasks:
            marker = task_marker(ctx, phase.name, t["id"])
            mine = source is None or t.get("source") in (None, source)
            if marker.exists() and not (force and source is not None and t.get("source") == source):
                done[t["id"]] = read_json(marker)
            elif mine:
                todo.append(t)
        if done:
            log(f"[{spec.name}] {phase.name}: reusing {len(done)} finished task(s) of {len(tasks)}")
        results = mapper(run_task, [(spec.ref, phase.name, ctx, t) for t in todo]) if todo else []
        for t, r in zip(todo, results):
            if isinstance(r, BaseException):
                failed.append(f"{phase.name}/{t['id']}: {type(r).__name__}: {r}")
            else:
                done[t["id"]] = r
        timings[phase.name] = round(time.perf_counter() - t0, 3)
        missing = [t["id"] for t in tasks if t["id"] not in done]
        if failed or missing:
            if failed:
                raise TaskError(
                    f"[{spec.name}] {len(failed)} task(s) failed; finished tasks are kept and a "
                    f"re-run does only the rest:\n  " + "\n  ".join(failed)
                )
            log(f"[{spec.name}] {len(missing)} task(s) of other sources not run yet; "
                "manifest not written (run without --source to finish the stage)")
            return StageResult(spec.name, False, fp, {}, None, [])
        records[phase.name] = [done[i] for i in ids]

    summary = spec.finish(ctx, records) or {}
    manifest = {
        "stage": spec.name,
        "fingerprint": fp,
        "version": PACKAGE_VERSION,
        "config": {k: config_section(cfg, k) for k in spec.config_keys},
        "upstream": list(spec.upstream),
        "counts": summary.get("counts", {}),
        **{k: v for k, v in summary.items() if k not in ("counts", "outputs")},
        "outputs": summary.get("outputs") or collect_outputs(ctx.dir),
        "timings": {**timings, "total": round(time.perf_counter() - t_start, 3)},
    }
    write_json_atomic(ctx.dir / MANIFEST, manifest)
    log(f"[{spec.name}] done in {manifest['timings']['total']:.1f}s -> {ctx.dir}")
    return StageResult(spec.name, False, fp, manifest, ctx.dir / MANIFEST)
