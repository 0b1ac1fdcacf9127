"""A stage's `_manifest.json`: what it holds, its fingerprint, and whether a stage is done.

The manifest is written last, so a folder with one is a finished stage. It holds the stage
name, the fingerprint (a hash of the stage's config sections, the upstream fingerprints, the
package version and any inputs outside the work dir), the outputs with sizes and checksums,
counts and timings. A stage whose manifest fingerprint matches the current one is done.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from kuznia import registry
from kuznia.files import canonical_json, file_checksum, is_tmp_name, read_json
from kuznia.stage import MANIFEST, STATE, TASKS, StageConfig, StageError, StageSpec

PACKAGE_VERSION = "0.1.0"  # part of every fingerprint: a new release re-runs every stage


def read_manifest(stage_dir: Path) -> dict | None:
    """A stage folder's manifest, or None when the stage has not finished there."""
    path = Path(stage_dir) / MANIFEST
    if not path.exists():
        return None
    try:
        return read_json(path)
    except (OSError, json.JSONDecodeError) as e:
        raise StageError(f"{path} is unreadable ({e}); delete it or re-run with --force") from e


def stage_manifest(work_dir: Path, stage: str) -> dict | None:
    """The manifest of a stage by name (None when it has not run)."""
    return read_manifest(Path(work_dir) / registry.folder(stage))


def fingerprint(spec: StageSpec, cfg: Any, work_dir: Path, *, strict: bool = True) -> str | None:
    """Hash of the stage's config sections, the upstream fingerprints and the package version.

    `cfg` is the pipeline config, a mapping of sections, or the stage's `StageConfig`.

    With `strict`, a missing upstream manifest raises a StageError naming the stage to run;
    otherwise None is returned (used by `kuznia status`).
    """
    cfg = StageConfig.of(cfg, spec.config_keys)
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
        ups[up] = m["fingerprint"]
    payload: dict[str, Any] = {
        "stage": spec.name,
        "config": {k: cfg.section_json(k) for k in spec.config_keys},
        "upstream": ups,
        "version": PACKAGE_VERSION,
    }
    if spec.inputs is not None:
        payload["inputs"] = spec.inputs(cfg)
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()[:32]


def stage_status(spec: StageSpec, cfg: Any, work_dir: Path) -> tuple[str, dict | None]:
    """`done` (manifest matches), `stale` (manifest from another config/upstream) or `missing`."""
    m = read_manifest(Path(work_dir) / spec.info.folder)
    if m is None:
        return "missing", None
    fp = fingerprint(spec, cfg, Path(work_dir), strict=False)
    return ("done" if fp == m.get("fingerprint") else "stale"), m


def collect_outputs(stage_dir: Path, exclude: tuple[str, ...] = ()) -> list[dict]:
    """Every file under the stage folder but our own bookkeeping (and top-level folders in
    `exclude`), with size and checksum, sorted by path."""
    outs = []
    skip = {TASKS, MANIFEST, STATE, *exclude}
    for p in sorted(Path(stage_dir).rglob("*")):
        rel = p.relative_to(stage_dir)
        if not p.is_file() or rel.parts[0] in skip or is_tmp_name(p.name):
            continue
        outs.append({"path": rel.as_posix(), "bytes": p.stat().st_size, "checksum": file_checksum(p)})
    return outs
