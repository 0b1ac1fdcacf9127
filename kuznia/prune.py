"""Removing re-creatable intermediate text, and making it again when it is needed.

At 285 GB the work dir would hold the same text four times (raw `.jsonl.zst`, docs, clean and
corpus parts). With `disk.remove_intermediate: true` the document parts of an intermediate stage
are deleted by the stage that reads them last (`LAST_READER`: docs by clean, clean by corpus),
each as soon as the task that read it has finished, so the disk holds about one copy of the
text besides raw/ and the corpus. Their manifests stay, marked `pruned` (first, so that a run
killed half-way leaves a stage that says so) with the files and bytes removed: `status` shows
them done, later stages stay up to date (their fingerprints read the upstream manifests'
checksums, which do not change) and `verify` does not call the removed files damaged.

A stage that has to run again and reads a pruned stage (a threshold change re-runs corpus, which
reads clean parts) first restores it: the driver re-runs the pruned stage in repair mode, which
re-does exactly the tasks whose outputs are gone, with their old salts, so the parts come back
byte for byte and nothing downstream turns stale.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from kuznia import registry
from kuznia.config import Section
from kuznia.files import write_json_atomic
from kuznia.parts import PART_GLOB, list_parts
from kuznia.stage import MANIFEST, read_manifest

PRUNED = "pruned"  # manifest key: what was removed, when
# Intermediate text -> the stage that reads it last: it deletes each part once the task that read
# it has finished (so the disk holds about one copy of the text at a time), then what is left.
LAST_READER = {"docs": "clean", "clean": "corpus"}


class DiskConfig(Section):
    """What the work dir keeps on disk."""

    remove_intermediate: bool = False
    """Delete the document parts of docs/ as clean consumes them and of clean/ as the corpus
    stage does (their manifests stay; a later run that needs them makes them again, byte for
    byte)."""


def pruned(work_dir: Path | str, stage: str) -> dict | None:
    """The `pruned` record of a stage's manifest (None when its files are all there)."""
    m = read_manifest(Path(work_dir) / registry.folder(stage))
    return (m or {}).get(PRUNED)


def mark_pruned(work_dir: Path | str, stage: str) -> dict | None:
    """Mark a finished stage's document parts as removed (in its manifest), before removing them:
    a run killed half-way leaves a stage that says so, and is made whole again when needed."""
    root = Path(work_dir) / registry.folder(stage)
    m = read_manifest(root)
    if m is None:
        return None
    if not m.get(PRUNED):
        _record(root, m, sorted(p.relative_to(root).as_posix() for p in list_parts(root)))
    return m[PRUNED]


def _record(root: Path, m: dict, paths: list[str], **extra) -> None:
    """Write into the stage's manifest that `paths` (under `root`) are removed on purpose."""
    known = {o["path"]: o["bytes"] for o in m.get("outputs", [])}
    m[PRUNED] = {"files": len(paths), "bytes": sum(known.get(p, 0) for p in paths), "paths": paths,
                 **extra, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    write_json_atomic(root / MANIFEST, m)


def prune_stage(work_dir: Path | str, stage: str) -> int:
    """Delete a finished stage's remaining document parts, keep its manifest (marked); returns
    the bytes removed now."""
    root = Path(work_dir) / registry.folder(stage)
    if mark_pruned(work_dir, stage) is None:
        return 0
    n_bytes = 0
    for p in list_parts(root):
        n_bytes += p.stat().st_size
        p.unlink(missing_ok=True)
    return n_bytes


def consumed_by(disk: DiskConfig | None, stage: str) -> tuple[str, ...]:
    """The intermediate stages whose parts `stage` deletes as it goes (with the option on)."""
    if disk is None or not disk.remove_intermediate:
        return ()
    return tuple(u for u, reader in LAST_READER.items() if reader == stage)


def consume(work_dir: Path, upstream: tuple[str, ...], read: list[Path]) -> None:
    """Delete the parts among `read` (the files a finished task read) that belong to `upstream`."""
    for u in upstream:
        root = (Path(work_dir) / registry.folder(u)).resolve()
        for f in read:
            f = Path(f).resolve()
            if f.is_relative_to(root) and f.match(PART_GLOB):
                f.unlink(missing_ok=True)


def after_stage(disk: DiskConfig | None, work_dir: Path | str, stage: str, log=print) -> int:
    """Once `stage` has finished, the parts of the intermediate stages it was the last reader of
    go (those its tasks did not delete already). Returns the bytes removed now."""
    total = 0
    for name in consumed_by(disk, stage):
        if read_manifest(Path(work_dir) / registry.folder(stage)) is None:
            return 0  # not finished (a run of one source's tasks): keep its inputs
        total += prune_stage(work_dir, name)
        gone = pruned(work_dir, name) or {}
        log(f"[{name}] its document parts ({gone.get('bytes', 0) / 1e9:.2f} GB) are removed "
            f"(disk.remove_intermediate); they are made again if a later run needs them")
    return total


def to_restore(work_dir: Path | str, upstream: tuple[str, ...] | list[str]) -> list[str]:
    """The upstream stages (of the ones given) whose parts were removed (not those that removed
    only their own scratch files, which no later stage reads)."""
    return [u for u in upstream if (pruned(work_dir, u) or {"scratch": True}).get("scratch") is not True]


def remove_scratch(work_dir: Path | str, stage: str, folders: tuple[str, ...], log=print) -> int:
    """Once a stage has finished: delete the files under its `folders` (what only its own later
    phases read, `StageSpec.scratch`), recorded first in its manifest as removed on purpose
    (`verify` and `status` know; a later run of the stage writes them again). Returns bytes."""
    if not folders:
        return 0
    root = Path(work_dir) / registry.folder(stage)
    m = read_manifest(root)
    if m is None:
        return 0
    files = sorted(p for f in folders for p in (root / f).rglob("*") if p.is_file())
    _record(root, m, [p.relative_to(root).as_posix() for p in files], scratch=True)
    n_bytes = sum(p.stat().st_size for p in files)
    for f in folders:
        shutil.rmtree(root / f, ignore_errors=True)
    log(f"[{stage}] its scratch files ({', '.join(folders)}: {n_bytes / 1e9:.2f} GB) are removed "
        "(disk.remove_intermediate)")
    return n_bytes

