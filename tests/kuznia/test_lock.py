"""One writer per work dir and per stage: locks that name their holder and die with it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kuznia.lock import LockHeld, hold_run, hold_stage

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import sys, time
sys.path.insert(0, {root!r})
from kuznia.lock import hold_run, hold_stage
with hold_run(sys.argv[1], config="configs/x.yaml", shared=sys.argv[2] == "shared"):
    with hold_stage(sys.argv[1], "clean"):
        print("holding", flush=True)
        time.sleep(120)
"""


def _holder(tmp_path: Path, mode: str) -> subprocess.Popen:
    script = tmp_path / "holder.py"
    script.write_text(HOLDER.format(root=str(ROOT)))
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "w"), mode], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_a_second_writer_fails_at_once_naming_the_first_and_a_killed_holder_frees_the_lock(tmp_path: Path):
    proc = _holder(tmp_path, "exclusive")
    try:
        t0 = time.monotonic()
        with pytest.raises(LockHeld, match=rf"the work dir in .* is in use by pid {proc.pid} on .*holder.py.*"
                                           r"config configs/x.yaml; since 20"):
            with hold_run(tmp_path / "w"):
                pass
        assert time.monotonic() - t0 < 2
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with hold_run(tmp_path / "w"):  # the kernel released the dead holder's lock
        notes = list((tmp_path / "w" / ".kuznia").glob("run.*.json"))
        assert [json.loads(n.read_text())["pid"] for n in notes] == [os.getpid()]  # the dead one's note is gone


def test_stage_runs_share_the_work_dir_but_not_a_stage(tmp_path: Path):
    proc = _holder(tmp_path, "shared")
    try:
        with hold_run(tmp_path / "w", shared=True), hold_stage(tmp_path / "w", "quality"):
            pass  # another stage: fine
        with pytest.raises(LockHeld, match=r"stage 'clean' in .* is in use by pid"):
            with hold_stage(tmp_path / "w", "clean"):
                pass
        with pytest.raises(LockHeld, match="the work dir"):
            with hold_run(tmp_path / "w"):  # a pipeline run waits for no stage run
                pass
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
