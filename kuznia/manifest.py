"""A stage's `_manifest.json`: its fingerprint, its outputs, and whether a stage is done.

The manifest is written last, so a folder with one is a finished stage. It holds the stage
name, the fingerprint (`kuznia.identity`: the stage's own config, the package version, inputs
outside the work dir, and the content id of each upstream stage), the upstream content ids it
ran on, the outputs with sizes, checksums and salts, the content id of those outputs, counts
and timings. `stage_status` compares a manifest with the current config and upstream, and says
why a stage is stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kuznia import registry
from kuznia.files import file_checksum, is_tmp_name
from kuznia.identity import digest, manifest_content
from kuznia.stage import (
    MANIFEST,
    TASKS,
    StageConfig,
    StageError,
    StageSpec,
    read_manifest,
)

PACKAGE_VERSION = "0.1.0"  # part of every fingerprint: a new release re-runs every stage
BOOKKEEPING = (TASKS, MANIFEST, "_state.json")


def stage_manifest(work_dir: Path, stage: str) -> dict | None:
    """The manifest of a stage by name (None when it has not run)."""
    return read_manifest(Path(work_dir) / registry.folder(stage))


def config_fingerprint(spec: StageSpec, cfg: StageConfig) -> str:
    """The stage's config that can change outputs, and the package version (what every task's
    fingerprint starts from)."""
    return digest({"stage": spec.name, "version": PACKAGE_VERSION,
                   "config": {k: cfg.section_json(k, fingerprint=True) for k in spec.config_keys}})


def upstream_contents(spec: StageSpec, work_dir: Path, *, strict: bool = True) -> dict[str, str] | None:
    """The content id of each upstream stage; a missing one raises (strict) or gives None."""
    ups = {}
    for up in spec.upstream:
        m = stage_manifest(work_dir, up)
        if m is None:
            if strict:
                raise StageError(
                    f"stage '{spec.name}' needs the output of stage '{up}' "
                    f"({Path(work_dir) / registry.folder(up) / MANIFEST} is missing); "
                    f"run `kuznia stage {up}` first, or `kuznia run`"
                )
            return None
        ups[up] = manifest_content(m)
    return ups


def fingerprint(spec: StageSpec, cfg: Any, work_dir: Path, *, strict: bool = True) -> str | None:
    """The stage's fingerprint (see the module docstring); None when an upstream is missing and
    not `strict`. `cfg` is the pipeline config, a mapping of sections, or a `StageConfig`."""
    cfg = StageConfig.of(cfg, spec.config_keys)
    ups = upstream_contents(spec, Path(work_dir), strict=strict)
    if ups is None:
        return None
    return stage_fingerprint(spec, cfg, ups)


def stage_fingerprint(spec: StageSpec, cfg: StageConfig, upstream: dict[str, str]) -> str:
    """Config, version, inputs outside the work dir, and the upstream content ids."""
    inputs = spec.inputs(cfg) if spec.inputs is not None else None
    return digest({"own": config_fingerprint(spec, cfg), "inputs": inputs, "upstream": upstream})


@dataclass
class Status:
    state: str  # "done", "stale", "missing"
    reason: str
    manifest: dict | None


def _config_changes(old: Any, new: Any, prefix: str) -> list[str]:
    """Dotted keys whose values differ, as `key old → new`."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new)):
            out += _config_changes(old.get(k), new.get(k), f"{prefix}.{k}" if prefix else k)
        return out
    return [] if old == new else [f"{prefix} {old!r} → {new!r}"]


def stage_status(spec: StageSpec, cfg: Any, work_dir: Path, upstream: dict[str, Status] | None = None) -> Status:
    """`done`, `stale` or `missing`, with the reason. `upstream` (the statuses of earlier stages,
    as `status` computes them in DAG order) makes a stage stale when one it reads is."""
    work_dir = Path(work_dir)
    m = read_manifest(work_dir / spec.info.folder)
    if m is None:
        markers = list((work_dir / spec.info.folder / TASKS).glob("*/*.json"))
        why = f"interrupted: {len(markers)} task(s) finished" if markers else "not run yet"
        return Status("missing", why, None)
    for up in spec.upstream:
        st = (upstream or {}).get(up)
        if st is not None and st.state != "done":
            return Status("stale", f"reads '{up}', which is {st.state}", m)
    scfg = StageConfig.of(cfg, spec.config_keys)
    fp = fingerprint(spec, scfg, work_dir, strict=False)
    if fp is None:
        return Status("stale", "an upstream stage's output is missing", m)
    if fp == m.get("fingerprint"):
        return Status("done", "", m)
    return Status("stale", _why_stale(spec, scfg, work_dir, m), m)


def _why_stale(spec: StageSpec, cfg: StageConfig, work_dir: Path, m: dict) -> str:
    ran_with = m.get("fingerprint_config") or {}
    now = {k: cfg.section_json(k, fingerprint=True) for k in spec.config_keys}
    changes = _config_changes(ran_with, now, "") if ran_with else []
    if changes:
        more = f" (+{len(changes) - 3} more)" if len(changes) > 3 else ""
        return "config changed: " + "; ".join(changes[:3]) + more
    ups = upstream_contents(spec, work_dir, strict=False) or {}
    changed = [u for u, c in ups.items() if (m.get("upstream_contents") or {}).get(u) != c]
    if changed:
        return f"the output of {', '.join(changed)} changed since it ran"
    if m.get("version") != PACKAGE_VERSION:
        return f"made by Kuźnia {m.get('version')}, this is {PACKAGE_VERSION}"
    return "its inputs changed since it ran"


def output_entry(stage_dir: Path, rel: str, known: dict[str, dict] | None = None) -> dict:
    """`{path, bytes, checksum}` of one output file; `known` (path -> the task marker's `bytes`
    and `checksum`) saves hashing it again when its size still matches."""
    p = Path(stage_dir) / rel
    size = p.stat().st_size
    k = (known or {}).get(rel)
    return {"path": rel, "bytes": size,
            "checksum": k["checksum"] if k and k["bytes"] == size else file_checksum(p)}


def collect_outputs(stage_dir: Path, exclude: tuple[str, ...] = (),
                    known: dict[str, dict] | None = None) -> list[dict]:
    """Every file under the stage folder but our own bookkeeping (and top-level folders in
    `exclude`), as `output_entry`s sorted by path."""
    skip = {*BOOKKEEPING, *exclude}
    return [output_entry(stage_dir, p.relative_to(stage_dir).as_posix(), known)
            for p in sorted(Path(stage_dir).rglob("*"))
            if p.is_file() and p.relative_to(stage_dir).parts[0] not in skip and not is_tmp_name(p.name)]
