"""Files every stage writes: atomically (temp name, then rename), canonical JSON, fast checksums.

A reader never sees half a file: each writer fills a temp name beside the target and renames it
into place only when it is whole (`atomic_path`). A crash leaves at most a `.<name>.tmp-<pid>`
file, which the stage driver removes before a stage resumes.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import json
import os
import shutil
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

CHECKSUM_PREFIX = "xxh3_128:"
# The files written in this context (one task run): `recording_writes` starts a list, every
# atomic write adds its target. The stage driver keeps them in the task's marker, so it knows
# which task wrote which output (to reuse their checksums, and to drop files no task wrote).
_WRITTEN: ContextVar[list[Path] | None] = ContextVar("kuznia_written", default=None)


@contextlib.contextmanager
def recording_writes() -> Iterator[list[Path]]:
    """Collect the paths written by `atomic_path` (and `record_write`) inside the block."""
    token = _WRITTEN.set([])
    try:
        yield _WRITTEN.get()  # type: ignore[misc]
    finally:
        _WRITTEN.reset(token)


def record_write(path: Path | str) -> None:
    """Note a file (or a folder: every file in it) as written, for a writer that renames into
    place without `atomic_path` (a download, a whole export folder)."""
    written = _WRITTEN.get()
    if written is not None:
        written.append(Path(path))


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace variance: the basis of every fingerprint."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def file_checksum(path: Path | str, chunk_bytes: int = 1 << 22) -> str:
    """xxh3-128 of a file's bytes (fast enough for hundreds of GB, unlike sha256)."""
    h = xxhash.xxh3_128()
    with open(path, "rb") as f:
        while block := f.read(chunk_bytes):
            h.update(block)
    return CHECKSUM_PREFIX + h.hexdigest()


class DiskFull(RuntimeError):
    """A write ran out of disk space; the message names the path, the space free and needed.
    (Not an OSError: nothing may retry it as a network error.)"""


def free_bytes(path: Path | str) -> int | None:
    """Free bytes on the file system of `path` (or of its nearest existing parent)."""
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p).free
    except OSError:
        return None


def is_disk_full(e: BaseException) -> bool:
    """Whether an error means "no space left on device" (errno, or the text pyarrow wraps it in)."""
    return isinstance(e, DiskFull) or (isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT)) \
        or "No space left on device" in str(e)


def disk_full(path: Path | str, e: BaseException | None = None, needed: int | None = None) -> DiskFull:
    """The `DiskFull` error for a failed write of `path`."""
    free = free_bytes(path)
    need = f", about {needed / 1e6:,.1f} MB needed" if needed else ""
    have = f"{free / 1e6:,.1f} MB free" if free is not None else "free space unknown"
    return DiskFull(f"the disk is full writing {path} ({have}{need}): free space on that disk, "
                    "or point work_dir at a larger one; then run the same command again (finished work is "
                    f"kept){f' [{e}]' if e is not None and not isinstance(e, DiskFull) else ''}")


def tmp_name(path: Path) -> Path:
    """The temporary name a file is written under before it is renamed into place."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def is_tmp_name(name: str) -> bool:
    """Whether a file name is one `tmp_name` makes (a write that never finished)."""
    return name.startswith(".") and ".tmp-" in name


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_name(path)
    try:
        try:
            yield tmp
            os.replace(tmp, path)
        except Exception as e:
            if is_disk_full(e) and not isinstance(e, DiskFull):
                raise disk_full(path, e) from e
            raise
        record_write(path)
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


def write_text_atomic(path: Path | str, text: str) -> None:
    """Write a text file (UTF-8) atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, "utf-8")


def read_json(path: Path | str) -> Any:
    return json.loads(Path(path).read_text("utf-8"))


def save_npy(path: Path | str, array: np.ndarray) -> None:
    """`np.save` atomically (temp name, then rename)."""
    # np.save on a file object: given a name it would append ".npy" to our temp name.
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array, allow_pickle=False)


def safe_name(name: str) -> str:
    """Turn a task id into a file name; ids that needed changing get a hash of the original, so
    `a/b` and `a_b` never share a marker."""
    safe = "".join(c if c.isalnum() or c in "-_.=" else "_" for c in name)
    return safe if safe == name else f"{safe}-{xxhash.xxh3_64_hexdigest(name.encode())[:8]}"


_FALLOC_PUNCH_HOLE = 0x01 | 0x02  # FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE (Linux)


@functools.cache
def _fallocate():
    """libc's `fallocate` (Linux), or None."""
    try:
        fallocate = ctypes.CDLL(None, use_errno=True).fallocate
    except (OSError, AttributeError):
        return None
    fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    return fallocate


def punch_hole(path: Path | str, offset: int, length: int) -> bool:
    """Give the disk blocks of bytes [offset, offset + length) of a file back to the file system
    (they read as zeros; the size stays): a file read from front to back can shrink on disk as
    it is read. False where the platform or file system cannot (then nothing changes)."""
    fallocate = _fallocate()
    if length <= 0 or fallocate is None:
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        return fallocate(fd, _FALLOC_PUNCH_HOLE, offset, length) == 0
    finally:
        os.close(fd)
