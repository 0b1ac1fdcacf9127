"""The stage contract: what a stage is, what its tasks see, and how one task runs.

A stage is a `StageSpec`: its registry facts (`StageInfo`), the config sections it reads, one
or more phases — each a `plan` (a list of small JSON-able tasks) and a `run` (one task, writing
parts atomically under the stage folder and returning a small record) — and a `finish` that
turns the records into the manifest's counts. `kuznia.driver.run_stage` drives a spec; mappers
(`kuznia.mappers`, or Prefect/Dask tasks in `flows/`) run its tasks as `TaskCall`s. Nothing
here knows about Prefect.
"""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kuznia import registry
from kuznia.files import (
    file_checksum,
    read_json,
    recording_writes,
    safe_name,
    write_json_atomic,
)
from kuznia.registry import StageInfo
from kuznia.usage import task_usage

MANIFEST = "_manifest.json"
TASKS = "_tasks"
# What a task marker keeps beside the task's own record (the driver's bookkeeping).
MARKER_KEYS = ("worker", "usage", "input_fp", "salt", "outputs")


class StageError(RuntimeError):
    """A stage cannot run: a missing upstream, a bad input; the message says how to fix it."""


class TaskError(StageError):
    """One task of a stage failed; the other tasks still ran and their work is kept."""


def read_manifest(stage_dir: Path) -> dict | None:
    """A stage folder's manifest, or None when the stage has not finished there."""
    path = Path(stage_dir) / MANIFEST
    if not path.exists():
        return None
    try:
        return read_json(path)
    except (OSError, json.JSONDecodeError) as e:
        raise StageError(f"{path} is unreadable ({e}); delete it or re-run with --force") from e


class StageConfig:
    """The config sections one stage reads (its `config_keys`), as attributes: `cfg.clean`.

    Built from the pipeline config or from a plain mapping of sections, so library code and its
    tests never need the pipeline's config class.
    """

    def __init__(self, sections: Mapping[str, Any]):
        self.__dict__.update(sections)

    @classmethod
    def of(cls, cfg: Any, keys: Sequence[str]) -> StageConfig:
        """The sections `keys` of `cfg` (an object with attributes, or a mapping)."""
        if isinstance(cfg, StageConfig) or cfg is None:
            return cfg or cls({})
        sections = {}
        for key in keys:
            if isinstance(cfg, Mapping):
                if key not in cfg:
                    raise StageError(f"the config has no section '{key}' (given: {sorted(cfg)})")
                sections[key] = cfg[key]
            else:
                sections[key] = getattr(cfg, key)
        return cls(sections)

    def section_json(self, key: str, *, fingerprint: bool = False) -> Any:
        """The JSON form of one section (the manifest holds it whole; a fingerprint leaves out
        the fields that cannot change outputs, `Section.NOT_FINGERPRINTED`)."""
        value = getattr(self, key)
        if fingerprint and hasattr(value, "fingerprint_json"):
            return value.fingerprint_json()
        return value.model_dump(mode="json") if hasattr(value, "model_dump") else value

    def __repr__(self) -> str:
        return f"StageConfig({', '.join(sorted(self.__dict__))})"


@dataclass
class StageContext:
    """What a task sees: the stage, the work dir, its config sections and the run's fingerprint."""

    stage: str
    folder: str
    """The stage's folder under the work dir (its `StageInfo.folder`)."""
    work_dir: Path
    cfg: StageConfig
    fingerprint: str
    force: bool = False
    source: str | None = None
    repair: bool = False
    prune: bool = False
    """`disk.remove_intermediate`: what only this stage reads goes as soon as it is read."""
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    """Tasks that run at once (a task may size its own thread pools by it)."""
    known_outputs: dict[str, dict] = field(default_factory=dict)
    """For `finish`: the files the stage's tasks wrote (path -> bytes, checksum, salt)."""

    @property
    def dir(self) -> Path:
        return self.work_dir / self.folder

    def upstream_dir(self, stage: str) -> Path:
        return self.work_dir / registry.folder(stage)


@dataclass
class Phase:
    """One map step of a stage: `plan(ctx) -> [task]`, `run(ctx, task) -> record`.

    A task is a small dict with a unique `"id"` and, when it belongs to one source, `"source"`.
    `run` must be a module-level function (it is pickled to worker processes). `inputs(ctx,
    task)` lists the files the task reads (upstream parts, or this stage's earlier phases); with
    it, a task whose inputs and config did not change is reused when the stage runs again
    (`kuznia.identity`). Without it (or when it returns None) the task depends on everything.
    """

    name: str
    plan: Callable[[StageContext], list[dict]]
    run: Callable[[StageContext, dict], dict]
    inputs: Callable[[StageContext, dict], list[Path] | None] | None = None


@dataclass
class StageSpec:
    """A stage: its registry facts, the config sections it reads, its phases and its finish."""

    info: StageInfo
    config_keys: tuple[str, ...]
    phases: Sequence[Phase]
    finish: Callable[[StageContext, dict[str, list[dict]]], dict]
    keep_outputs: bool = False
    """Keep the folder's outputs when the config changes (fetch: no re-download; train: resume
    decides itself); otherwise a run with another fingerprint starts from an empty folder."""
    io_workers: Callable[[StageConfig], int] | None = None
    """I/O-bound stages (downloads) run their tasks on this many threads instead of a process
    pool sized by CPU cores."""
    inputs: Callable[[StageConfig], Any] | None = None
    """Inputs outside the work dir that the config alone doesn't pin (a user's local files):
    their JSON form goes into the fingerprint, so changing them re-runs the stage."""
    not_outputs: tuple[str, ...] = ()
    """Top-level folders under the stage folder that are not its outputs (the corpus report,
    rewritten by `kuznia report` without making the stage stale)."""
    scratch: tuple[str, ...] = ()
    """Folders under the stage folder that only its own later phases read (dedup's signatures):
    with `disk.remove_intermediate` they are removed once the stage has finished (the manifest
    keeps them, marked removed; a later run of the stage writes them again)."""
    reads_parts_of: tuple[str, ...] | None = None
    """The upstream stages whose document parts it reads (None: all of them); a stage it reads
    only the manifest of need not be restored after `disk.remove_intermediate`."""

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def ref(self) -> str:
        return self.info.ref

    @property
    def upstream(self) -> tuple[str, ...]:
        return self.info.upstream

    def phase(self, name: str) -> Phase:
        return next(p for p in self.phases if p.name == name)


@dataclass
class StageResult:
    stage: str
    skipped: bool
    fingerprint: str
    manifest: dict = field(default_factory=dict)
    manifest_path: Path | None = None
    failed_tasks: list[str] = field(default_factory=list)


@dataclass
class TaskCall:
    """One task of one phase, as a mapper receives it (picklable: it goes to worker processes).

    `input_fp` and `salt` are the driver's (`kuznia.identity`): they go into the task's marker.
    """

    spec_ref: str
    phase: str
    ctx: StageContext
    task: dict
    input_fp: str = ""
    salt: str = ""
    input_bytes: int | None = None
    """What it reads (its phase's `inputs`), for mappers that balance tasks; None: not listed."""

    @property
    def label(self) -> str:
        """`stage/phase/task-id`: how progress bars and the Prefect UI name the task."""
        return f"{self.ctx.stage}/{self.phase}/{self.task['id']}"


def load_spec(ref_or_name: str) -> StageSpec:
    """Import a stage's spec from a stage name or a `"package.module:NAME"` reference (how a
    worker process finds the stage of the task it was sent)."""
    if ref_or_name in registry.NAMES:
        ref_or_name = registry.info(ref_or_name).ref
    module, _, attr = ref_or_name.partition(":")
    try:
        spec = getattr(importlib.import_module(module), attr or "SPEC")
    except (ImportError, AttributeError) as e:
        raise StageError(f"cannot load stage spec '{ref_or_name}': {e}") from e
    if not isinstance(spec, StageSpec):
        raise StageError(f"'{ref_or_name}' is not a StageSpec")
    return spec


def task_marker(ctx: StageContext, phase: str, task_id: str) -> Path:
    return ctx.dir / TASKS / phase / (safe_name(task_id) + ".json")


def _worker() -> dict:
    """Where a task ran: host, pid and, on a Dask worker, its address."""
    where: dict[str, Any] = {"host": socket.gethostname(), "pid": os.getpid()}
    if "distributed" in sys.modules:  # only a Dask worker process has it loaded
        try:
            where["dask_worker"] = sys.modules["distributed"].get_worker().address
        except ValueError:  # not inside a worker
            pass
    return where


def _written(ctx: StageContext, paths: list[Path]) -> dict[str, dict]:
    """The files under the stage folder among `paths` (folders expanded), with size and checksum."""
    root = ctx.dir.resolve()
    files: set[Path] = set()
    for p in paths:
        p = Path(p).resolve()
        if p.is_dir():
            files.update(f for f in p.rglob("*") if f.is_file())
        else:
            files.add(p)
    out = {}
    for f in sorted(files):
        if f.is_file() and f.is_relative_to(root):
            out[f.relative_to(root).as_posix()] = {"bytes": f.stat().st_size, "checksum": file_checksum(f)}
    return out


_WATCHING: list[int] = []  # the parent pid a worker process watches (once per process)


def _exit_with_parent() -> None:
    """In a worker process (a pool's child), exit when the parent dies: a `kill -9` of the run
    must not leave workers holding memory. A daemon thread notices the re-parenting."""
    if _WATCHING or multiprocessing.parent_process() is None:
        return
    _WATCHING.append(os.getppid())

    def watch() -> None:
        while os.getppid() == _WATCHING[0]:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="kuznia-parent-watch", daemon=True).start()


def run_task(call: TaskCall) -> dict:
    """Run one task in this process and write its completion marker: its record, where it ran,
    its input fingerprint and salt, and the files it wrote (with their checksums)."""
    _exit_with_parent()
    spec = load_spec(call.spec_ref)
    t0 = time.perf_counter()
    with recording_writes() as written, task_usage() as usage:
        record = spec.phase(call.phase).run(call.ctx, call.task) or {}
    record = {"task": call.task, "seconds": round(time.perf_counter() - t0, 3), **record}
    marker = {**record, "worker": _worker(), "usage": usage, "input_fp": call.input_fp, "salt": call.salt,
              "outputs": _written(call.ctx, written)}
    write_json_atomic(task_marker(call.ctx, call.phase, call.task["id"]), marker)
    return marker
