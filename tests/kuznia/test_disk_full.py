"""A full disk is said as such: which path, how much was needed and is free; never retried as a
network error. On a real small tmpfs when this machine lets us mount one (root); the messages
are also checked with an injected ENOSPC, which needs nothing."""

from __future__ import annotations

import errno
import random
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import pyarrow as pa
import torch

from corpus.sources import download as dl
from kuznia.files import DiskFull
from kuznia.parts import write_table
from train.checkpoint import save_checkpoint

ENOSPC = OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 192 KiB tmpfs (skipped, saying why, where mounting is not allowed)."""
    where = tmp_path / f"tmpfs-{uuid.uuid4().hex[:6]}"
    where.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no `mount` here: the injected-ENOSPC tests below still check the messages")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", str(where)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({p.stderr.strip()}): the injected-ENOSPC tests still run")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def _tiny():
    model = torch.nn.Linear(256, 256)
    opt = torch.optim.AdamW(model.parameters())
    model(torch.ones(1, 256)).sum().backward()
    opt.step()
    return model, opt


def test_parts_on_a_full_disk(small_disk: Path):
    table = pa.table({"x": [random.Random(i).randbytes(1024) for i in range(1000)]})  # 1 MB, incompressible
    with pytest.raises(DiskFull, match=rf"the disk is full writing {small_disk}/docs/s/part-00000.parquet \(.* MB free\)"):
        write_table(small_disk / "docs" / "s" / "part-00000.parquet", table)
    assert not list(small_disk.rglob("*.tmp-*"))  # nothing half-written left behind


def test_a_download_on_a_full_disk_is_not_retried(small_disk: Path, tmp_path: Path):
    src = tmp_path / "big.bin"
    src.write_bytes(b"\x01" * 1_000_000)
    with pytest.raises(DiskFull, match=rf"the disk is full writing {small_disk}/big.bin.part .*MB needed"):
        dl.download(str(src), small_disk / "big.bin", expected_size=1_000_000, retry=dl.Retry(retries=5, backoff_s=0))


def test_a_checkpoint_on_a_full_disk(small_disk: Path):
    model, opt = _tiny()
    with pytest.raises(DiskFull, match=rf"the disk is full writing {small_disk}/step-0000001 \(.*MB needed"):
        save_checkpoint(small_disk, 1, model=model, optimizer=opt, meta={})
    assert not [p for p in small_disk.iterdir() if p.name.startswith(("step-", ".step-"))]


def test_injected_enospc_in_a_part_write(tmp_path: Path, monkeypatch):
    def full(*a, **k):
        raise ENOSPC

    monkeypatch.setattr("kuznia.parts.pq.write_table", full)
    with pytest.raises(DiskFull, match=rf"the disk is full writing {tmp_path}/p.parquet .*No space left on device"):
        write_table(tmp_path / "p.parquet", pa.table({"x": [1]}))


def test_injected_enospc_in_a_download_is_one_attempt(tmp_path: Path, monkeypatch):
    calls = []

    def full(*a, **k):
        calls.append(1)
        raise ENOSPC

    monkeypatch.setattr(dl, "_copy_local", full)
    src = tmp_path / "src.bin"
    src.write_bytes(b"x" * 10)
    with pytest.raises(DiskFull, match="the disk is full writing"):
        dl.download(str(src), tmp_path / "dst.bin", expected_size=10, retry=dl.Retry(retries=5, backoff_s=0))
    assert len(calls) == 1


def test_injected_full_disk_at_checkpoint_save(tmp_path: Path, monkeypatch):
    model, opt = _tiny()

    def torch_save(*a, **k):  # what torch says on a full disk: no errno, no word of the disk
        raise RuntimeError("[enforce fail at inline_container.cc] . unexpected pos 23365568 vs 23365456")

    monkeypatch.setattr("train.checkpoint.torch.save", torch_save)
    monkeypatch.setattr("train.checkpoint.free_bytes", lambda p: 10)
    with pytest.raises(DiskFull, match=r"the disk is full writing .*step-0000003 .*MB needed.*unexpected pos"):
        save_checkpoint(tmp_path, 3, model=model, optimizer=opt, meta={})
