"""One writer per work dir, and per stage: advisory file locks that name who holds them.

A pipeline run (`kuznia run`, a deployment) holds the work dir's run lock exclusively; a single
stage run (`kuznia stage X`) holds it shared, and the stage's own lock exclusively (the stage
driver takes that). So two pipeline runs never share a work dir, a pipeline run and `kuznia
stage` never overlap, and two `kuznia stage` runs never write the same stage; a second comer
fails at once, naming the holder: its pid, host, command, config and start time.

The locks are `flock`s on files under `<work_dir>/.kuznia/`: the kernel drops them when the
holding process dies, however it dies (`kill -9` included), so a lock is never stale; the note
a dead holder left beside it is replaced by the next holder's.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

LOCK_DIR = ".kuznia"
RUN = "run"


class LockHeld(RuntimeError):
    """Someone else holds a lock this run needs; the message names them."""


def _note_path(lock: Path) -> Path:
    return lock.with_name(f"{lock.stem}.{socket.gethostname()}.{os.getpid()}.json")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holders(lock: Path) -> list[dict]:
    """The notes of the processes that hold (or held) a lock; notes of dead local holders are
    dropped."""
    out = []
    for note in sorted(lock.parent.glob(f"{lock.stem}.*.json")):
        try:
            info = json.loads(note.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if info.get("host") == socket.gethostname() and not _alive(int(info.get("pid", 0))):
            note.unlink(missing_ok=True)
            continue
        out.append(info)
    return out


def _describe(info: dict) -> str:
    return (f"pid {info.get('pid')} on {info.get('host')} ({info.get('command')}; config "
            f"{info.get('config')}; since {info.get('started')})")


@contextlib.contextmanager
def hold(work_dir: Path | str, name: str, *, shared: bool = False, config: str = "",
         what: str = "", note: bool = True, wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold lock `name` of a work dir for the block, or raise `LockHeld` at once; with `wait`,
    call it with who holds the lock, then wait for it."""
    lock = Path(work_dir) / LOCK_DIR / f"{name}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    try:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            who = "; ".join(_describe(h) for h in holders(lock)) or "another process"
            if wait is None:
                raise LockHeld(f"{what or name} in {Path(work_dir)} is in use by {who}: wait for it to finish, "
                               "or stop it (a stopped run's lock is released at once)") from None
            wait(f"{what or name} is in use by {who}: waiting for it")
            fcntl.flock(fd, mode)
        if not note:
            yield
            return
        holders(lock)  # drop notes of holders that died
        note_file = _note_path(lock)
        note_file.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                    "command": " ".join(os.path.basename(a) if i == 0 else a
                                                        for i, a in enumerate(sys.argv))[:300],
                                    "config": config, "mode": "shared" if shared else "exclusive",
                                    "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}),
                        "utf-8")
        try:
            yield
        finally:
            note_file.unlink(missing_ok=True)
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def check_free(work_dir: Path | str, name: str = RUN, *, shared: bool = False, what: str = "the work dir") -> None:
    """Raise `LockHeld` now if lock `name` is held against us (the lock is not kept: a command
    calls this before its slow start-up, and takes the lock for real where the work begins)."""
    if (Path(work_dir) / LOCK_DIR / f"{name}.lock").exists():
        with hold(work_dir, name, shared=shared, what=what, note=False):
            pass


def hold_run(work_dir: Path | str, *, config: str = "", shared: bool = False) -> contextlib.AbstractContextManager:
    """The work dir's run lock: exclusive for a pipeline run, shared for a single stage run."""
    return hold(work_dir, RUN, shared=shared, config=config, what="the work dir")


def hold_stage(work_dir: Path | str, stage: str) -> contextlib.AbstractContextManager:
    """A stage's lock: one writer per stage folder."""
    return hold(work_dir, f"stage-{stage}", what=f"stage '{stage}'")
