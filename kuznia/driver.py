"""The stage driver: run a `StageSpec` under the contract.

`run_stage` skips a stage whose fingerprint matches its manifest. Otherwise it plans each phase
and reuses every task whose marker holds the task's current fingerprint (its config and the
identities of the files it reads, `kuznia.identity`) and whose outputs are still there; it maps
the rest with the mapper it is given (serial, threads, a local process pool, or Prefect/Dask
tasks from `flows/`). Once every phase is done it removes what no current task wrote (outputs
of sources or parts that are gone), runs `finish`, and writes the manifest last. `--force` re-runs
every task (with `--source`, that source's), and gives what they write a new salt, so the
stages downstream re-do their share too.
"""

from __future__ import annotations

import difflib
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kuznia.files import file_checksum, is_tmp_name, read_json, write_json_atomic
from kuznia.identity import InputIndex, combine_salts, content_id, digest, new_salt
from kuznia.lock import hold_stage
from kuznia.manifest import (
    BOOKKEEPING,
    PACKAGE_VERSION,
    collect_outputs,
    config_fingerprint,
    stage_fingerprint,
    upstream_contents,
)
from kuznia.mappers import Mapper, serial_mapper
from kuznia import prune
from kuznia.prune import after_stage, consumed_by, mark_pruned, remove_scratch, to_restore
from kuznia.stage import (
    MANIFEST,
    MARKER_KEYS,
    TASKS,
    Phase,
    StageConfig,
    StageContext,
    StageError,
    StageResult,
    StageSpec,
    TaskCall,
    TaskError,
    load_spec,
    read_manifest,
    task_marker,
)


def _old_salt(marker: Path, default: str) -> str:
    """The salt a task's outputs had (its marker's), for a repair that writes them again."""
    try:
        return read_json(marker).get("salt") or default
    except (OSError, ValueError):
        return default


def _drop_temp_files(d: Path) -> None:
    """Temp files of tasks killed mid-write (a crash) are never renamed into place: drop them."""
    for tmp in [p for p in d.rglob(".*") if is_tmp_name(p.name)]:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def _valid_marker(ctx: StageContext, marker: Path, input_fp: str, checksums: bool = False) -> dict | None:
    """A finished task's marker when it is for these inputs and its outputs are still there
    (with `checksums`, byte for byte)."""
    if not marker.exists():
        return None
    try:
        m = read_json(marker)
    except (OSError, ValueError):
        return None  # a marker damaged by a crash: the task runs again
    if m.get("input_fp") != input_fp or "outputs" not in m:
        return None
    for rel, o in m["outputs"].items():
        p = ctx.dir / rel
        if not p.is_file() or p.stat().st_size != o["bytes"]:
            return None
        if checksums and file_checksum(p) != o["checksum"]:
            return None
    return m


class _Run:
    """One run of a stage: the context, the task identities, the markers of finished tasks.

    Outputs stay consistent with the markers: files no marker lists are dropped at the start
    (a crashed write, an older layout), and a task that runs again, or is no longer planned,
    loses its old outputs before its phase runs, so a phase that reads what earlier phases wrote
    (a glob over `pairs/`) never sees a file of another run.
    """

    def __init__(self, spec: StageSpec, ctx: StageContext, own_fp: str, mapper: Mapper,
                 log: Callable[[str], None]):
        self.spec, self.ctx, self.own_fp, self.mapper, self.log = spec, ctx, own_fp, mapper, log
        self.index = InputIndex(ctx.work_dir, ctx.dir)
        self.markers: dict[tuple[str, str], dict] = {}  # (phase, task id) -> marker of this run
        self.old = {(m.parent.name, m): None for m in (ctx.dir / TASKS).glob("*/*.json")}
        if not spec.keep_outputs:
            self._drop_orphans()

    def _old_markers(self) -> dict[Path, dict]:
        out = {}
        for _, path in self.old:
            try:
                out[path] = read_json(path)
            except (OSError, ValueError):
                out[path] = {}
        return out

    def _drop_orphans(self) -> None:
        """Delete the files under the stage folder that no task marker lists."""
        listed = {rel for m in self._old_markers().values() for rel in m.get("outputs", {})}
        for p in sorted(self.ctx.dir.rglob("*")):
            rel = p.relative_to(self.ctx.dir)
            if p.is_file() and rel.parts[0] not in BOOKKEEPING and rel.as_posix() not in listed:
                p.unlink()

    def _retire(self, marker: Path) -> None:
        """Forget a finished task: its outputs (unless the stage keeps them: then only when
        repairing them) and its marker."""
        if (not self.spec.keep_outputs or self.ctx.repair) and marker.exists():
            try:
                outputs = read_json(marker).get("outputs", {})
            except (OSError, ValueError):
                outputs = {}
            for rel in outputs:
                (self.ctx.dir / rel).unlink(missing_ok=True)
        marker.unlink(missing_ok=True)

    def forced(self, task: dict) -> bool:
        return self.ctx.force and (self.ctx.source is None or task.get("source") == self.ctx.source)

    def identity(self, phase: Phase, task: dict) -> tuple[str, str, int | None]:
        """(input fingerprint, salt of what the task writes, bytes it reads: None when its phase
        does not list its inputs)."""
        files = phase.inputs(self.ctx, task) if phase.inputs else None
        if files is None:  # depends on everything the stage reads
            return digest([self.own_fp, phase.name, task, self.ctx.fingerprint]), "", None
        ids = sorted(self.index.identity(f) for f in files)
        size = sum(f.stat().st_size for f in map(Path, files) if f.is_file())
        return digest([self.own_fp, phase.name, task, ids]), combine_salts(i[2] for i in ids), size

    def _sort(self, phase: Phase, tasks: list[dict]) -> tuple[dict[str, dict], list[TaskCall]]:
        """Reuse what is still valid, retire the rest, and the calls for what must run."""
        done: dict[str, dict] = {}
        todo: list[TaskCall] = []
        planned = set()
        for t in tasks:
            path = task_marker(self.ctx, phase.name, t["id"])
            planned.add(path)
            input_fp, salt, size = self.identity(phase, t)
            forced = self.forced(t)
            m = None if forced else _valid_marker(self.ctx, path, input_fp, checksums=self.ctx.repair)
            if m is not None:
                done[t["id"]] = m
            elif self.ctx.source is None or t.get("source") in (None, self.ctx.source):
                if self.ctx.repair:  # the same bytes again: they keep the salt they had
                    salt = _old_salt(path, salt)
                self._retire(path)
                todo.append(TaskCall(self.spec.ref, phase.name, self.ctx, t, input_fp,
                                     new_salt() if forced else salt, size))
        for name, path in self.old:
            if name == phase.name and path not in planned and self.ctx.source is None:
                self._retire(path)
        return done, todo

    def phase(self, phase: Phase, consume: tuple[str, ...] = ()) -> tuple[list[dict], list[str], list[str]]:
        """Plan, reuse, map: (records in plan order, failures, ids of tasks left for another
        `--source`). The parts of the `consume` stages a finished task read are deleted."""
        tasks = phase.plan(self.ctx)
        ids = [t["id"] for t in tasks]
        if len(set(ids)) != len(ids):
            raise StageError(f"[{self.spec.name}] phase '{phase.name}' planned duplicate task ids")
        if phase is self.spec.phases[0] and self.ctx.source is not None:
            self._check_source(tasks)
        done, todo = self._sort(phase, tasks)
        if done:
            self.log(f"[{self.spec.name}] {phase.name}: reusing {len(done)} finished task(s) of {len(tasks)}")
        failed: list[str] = []
        for call, r in zip(todo, self.mapper(todo) if todo else []):
            if isinstance(r, BaseException):
                failed.append(f"{phase.name}/{call.task['id']}: {type(r).__name__}: {r}")
            else:
                done[call.task["id"]] = r
                if consume:
                    prune.consume(self.ctx.work_dir, consume, phase.inputs(self.ctx, call.task))
        for i in ids:
            if i in done:
                self.markers[(phase.name, i)] = done[i]
                self.index.add_own(done[i].get("outputs", {}), done[i].get("salt", ""))
        missing = [i for i in ids if i not in done]
        records = [{k: v for k, v in done[i].items() if k not in MARKER_KEYS} for i in ids if i in done]
        return records, failed, missing

    def _check_source(self, tasks: list[dict]) -> None:
        """`--source` must name a source this stage has (the error lists them)."""
        known = sorted({t["source"] for t in tasks if t.get("source")})
        if self.ctx.source in known:
            return
        close = difflib.get_close_matches(self.ctx.source, known, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise StageError(f"--source {self.ctx.source}: stage '{self.spec.name}' has no such source{hint} "
                         f"Its sources: {', '.join(known) or '(none)'}")

    def known_outputs(self) -> dict[str, dict]:
        """Every current task's outputs: path -> bytes, checksum, salt."""
        return {rel: {**o, "salt": m.get("salt", "")} for m in self.markers.values()
                for rel, o in m.get("outputs", {}).items()}

    def finish_up(self) -> None:
        """Drop markers of phases the stage no longer has, and empty folders."""
        phases = {p.name for p in self.spec.phases}
        for name, path in self.old:
            if name not in phases:
                self._retire(path)
        for p in sorted(self.ctx.dir.rglob("*"), reverse=True):
            if p.is_dir() and not any(p.iterdir()):
                p.rmdir()


def run_stage(
    spec: StageSpec,
    cfg: Any,
    work_dir: Path | str,
    *,
    force: bool = False,
    source: str | None = None,
    repair: bool = False,
    mapper: Mapper = serial_mapper,
    workers: int | None = None,
    log: Callable[[str], None] = print,
) -> StageResult:
    """Run a stage under the contract; see the module docstring.

    `cfg` is the pipeline config or a mapping of the sections the stage reads
    (`{"clean": CleanConfig()}`); `workers` is how many tasks the mapper runs at once. `repair`
    runs the stage even when it is up to date, checks every finished task's outputs byte for
    byte and re-runs only the tasks whose outputs are damaged or gone.
    """
    work_dir = Path(work_dir)
    scfg = StageConfig.of(cfg, spec.config_keys)
    own_fp = config_fingerprint(spec, scfg)
    ups = upstream_contents(spec, work_dir)
    fp = stage_fingerprint(spec, scfg, ups)
    disk = _disk_section(cfg)
    ctx = StageContext(spec.name, spec.info.folder, work_dir, scfg, fp, force=force, source=source,
                       repair=repair, prune=bool(disk and disk.remove_intermediate))
    if workers:
        ctx.workers = workers
    existing = read_manifest(ctx.dir)
    if existing and existing.get("fingerprint") == fp and not force and not repair:
        log(f"[{spec.name}] up to date ({ctx.dir / MANIFEST}), skipped")
        return StageResult(spec.name, True, fp, existing, ctx.dir / MANIFEST)

    reads = spec.upstream if spec.reads_parts_of is None else spec.reads_parts_of
    for up in to_restore(work_dir, reads):  # parts removed by disk.remove_intermediate
        log(f"[{spec.name}] reads {up}, whose parts were removed: making them again first")
        run_stage(load_spec(up), cfg, work_dir, repair=True, mapper=mapper, workers=workers, log=log)
    with hold_stage(work_dir, spec.name):
        result = _execute(spec, ctx, scfg, own_fp, ups, mapper, log, consumed_by(disk, spec.name))
        if ctx.prune and result.manifest_path:
            remove_scratch(work_dir, spec.name, spec.scratch, log)
    after_stage(disk, work_dir, spec.name, log)
    return result


def _disk_section(cfg: Any) -> Any:
    """The config's optional `disk` section (None: keep everything)."""
    return cfg.get("disk") if isinstance(cfg, dict) else getattr(cfg, "disk", None)


def _execute(spec: StageSpec, ctx: StageContext, scfg: StageConfig, own_fp: str, ups: dict[str, str],
             mapper: Mapper, log: Callable[[str], None], consume: tuple[str, ...] = ()) -> StageResult:
    """The stage's phases, finish and manifest (under the stage's lock). The last phase that
    declares its inputs deletes the parts of the `consume` stages each task read, once it is done."""
    fp = ctx.fingerprint
    t_start = time.perf_counter()
    ctx.dir.mkdir(parents=True, exist_ok=True)
    (ctx.dir / MANIFEST).unlink(missing_ok=True)
    _drop_temp_files(ctx.dir)
    run = _Run(spec, ctx, own_fp, mapper, log)
    records: dict[str, list[dict]] = {}
    timings: dict[str, float] = {}
    readers = [p for p in spec.phases if p.inputs]
    consuming = readers[-1] if consume and readers else None
    for phase in spec.phases:
        t0 = time.perf_counter()
        if phase is consuming:
            for u in consume:
                mark_pruned(ctx.work_dir, u)
        records[phase.name], failed, missing = run.phase(phase, consume if phase is consuming else ())
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

    run.finish_up()
    known = ctx.known_outputs = run.known_outputs()
    summary = spec.finish(ctx, records) or {}
    outputs = summary.get("outputs") or collect_outputs(ctx.dir, spec.not_outputs, known=known)
    salts = {o["path"]: known[o["path"]]["salt"] for o in outputs if (known.get(o["path"]) or {}).get("salt")}
    manifest = {
        "stage": spec.name,
        "fingerprint": fp,
        "version": PACKAGE_VERSION,
        "config": {k: scfg.section_json(k) for k in spec.config_keys},
        "fingerprint_config": {k: scfg.section_json(k, fingerprint=True) for k in spec.config_keys},
        "upstream": list(spec.upstream),
        "upstream_contents": ups,
        "counts": summary.get("counts", {}),
        **{k: v for k, v in summary.items() if k not in ("counts", "outputs")},
        "outputs": outputs,
        "salts": salts,
        "content": content_id(outputs, salts),
        "timings": {**timings, "total": round(time.perf_counter() - t_start, 3)},
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_json_atomic(ctx.dir / MANIFEST, manifest)
    log(f"[{spec.name}] done in {manifest['timings']['total']:.1f}s -> {ctx.dir}")
    return StageResult(spec.name, False, fp, manifest, ctx.dir / MANIFEST)
