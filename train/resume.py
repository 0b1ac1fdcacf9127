"""Settling `train.resume` before a run is built: which checkpoint continues, and what is set aside.

Checkpoints are never deleted behind a user's back (only `train.resume: no` deletes them): one
that cannot continue this run (another model shape, tokenizer or token shards) or that is
damaged (a file of other bytes or size than its sentinel records, no sentinel at all) is moved
to `checkpoints/superseded/<UTC time>/` with a `WHY` file, and the run goes on from the newest
good one, or from scratch.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from train.checkpoint import (
    LATEST,
    SUPERSEDED,
    CheckpointError,
    latest_checkpoint,
    list_checkpoints,
    read_meta,
    remove_incomplete,
    resolve_resume,
    unfinished,
)


def set_aside(root: Path, why: str, run_files: tuple[str, ...] = (), only: Path | None = None) -> Path:
    """Move every checkpoint (or `only` that one) and the run's files (e.g. its metrics) to
    `root/superseded/<UTC time>/`, with a note saying why; returns that folder."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    dest = Path(root) / SUPERSEDED / stamp
    n = 1
    while dest.exists():
        n += 1
        dest = Path(root) / SUPERSEDED / f"{stamp}-{n}"
    dest.mkdir(parents=True)
    for p in [only] if only is not None else [p for _, p in list_checkpoints(root)]:
        os.replace(p, dest / p.name)
    for name in () if only is not None else (LATEST, *run_files):
        if (Path(root) / name).exists():
            os.replace(Path(root) / name, dest / name)
    (dest / "WHY").write_text(why + "\n", "utf-8")
    return dest


def _newest_good(root: Path, log: Callable[[str], None]) -> Path | None:
    """The newest checkpoint whose every file is as saved; damaged ones are set aside (kept)."""
    for p in unfinished(root):
        aside = set_aside(root, f"{p.name} has no sentinel: damaged", only=p)
        log(f"warning: checkpoint {p.name} has no sentinel (damaged): set aside to {aside.relative_to(root)}")
    while (path := latest_checkpoint(root)) is not None:
        try:
            read_meta(path, checksums=True)
            return path
        except CheckpointError as e:
            aside = set_aside(root, f"damaged: {e}", only=path)
            log(f"warning: checkpoint {path.name} is damaged ({e}); set aside to {aside.relative_to(root)}, "
                "trying the one before it")
    return None


def prepare_resume(root: Path, resume: str, *, fits: Callable[[dict], str | None] = lambda meta: None,
                   run_files: tuple[str, ...] = (), log: Callable[[str], None] = print
                   ) -> tuple[Path | None, Path | None]:
    """Settle `train.resume` before a run is built; returns (checkpoint to resume from or None,
    the folder older checkpoints were set aside to or None).

    `fits(meta)` says why a checkpoint cannot continue this run (another model shape, tokenizer
    or data), None when it can. `auto` sets unfitting checkpoints aside and starts over; `must`
    refuses them, and refuses to start without one; `no` starts over, deleting the checkpoints
    and `run_files`; a path must fit. Damaged checkpoints are set aside whatever the mode.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if resume not in ("auto", "must", "no"):  # an explicit path: refuse a bad one before any cleanup
        path = resolve_resume(root, resume)
        if why := fits(read_meta(path, checksums=True)):
            raise CheckpointError(f"train.resume={resume}: that checkpoint {why}")
        return path, None
    for p in remove_incomplete(root):
        log(f"removed an interrupted save {p.name}")
    if resume == "no":
        old = list_checkpoints(root)
        if old:
            log(f"train.resume=no: deleting {len(old)} checkpoint(s) under {root}")
        for _, p in old:
            shutil.rmtree(p)
        for name in (LATEST, *run_files):
            (root / name).unlink(missing_ok=True)
        return None, None
    path = _newest_good(root, log)
    if path is None:
        if resume == "must":
            raise CheckpointError(f"train.resume=must but {root} holds no complete, undamaged checkpoint; "
                                  "use train.resume=auto to start a new run")
        return None, None
    why = fits(read_meta(path))
    if why is None:
        return path, None
    if resume == "must":
        raise CheckpointError(f"train.resume=must: checkpoint {path} {why}; use train.resume=auto to "
                              "set the old checkpoints aside (they are kept) and start over")
    aside = set_aside(root, f"{path.name} {why}", run_files)
    log(f"checkpoint {path.name} {why}: set {aside.relative_to(root)} aside (kept) and starting over")
    return None, aside
