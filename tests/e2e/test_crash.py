"""Crash recovery: `kuznia run` killed with SIGKILL (the whole process group: flow, pool workers,
API server) in the middle of a data stage, then run again, ends with a corpus and token shards
byte-identical to an uninterrupted run, and re-does only the tasks that had not finished."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from e2e_support import KUZNIA, ROOT, data_files, e2e_config, kuznia, kuznia_env

from kuznia.registry import folder
from kuznia.stage import MANIFEST, TASKS

pytestmark = pytest.mark.slow
CRASH_STAGE = "quality"  # many tasks (one per docs part), each a second or so


def markers(wd: Path) -> dict[str, int]:
    """Every task marker under the work dir -> its mtime (a re-run task rewrites its marker)."""
    return {p.relative_to(wd).as_posix(): p.stat().st_mtime_ns for p in wd.glob(f"*/{TASKS}/*/*.json")}


def test_sigkill_mid_stage_then_rerun_is_identical_and_resumes(reference, tmp_path):
    cfg = e2e_config(tmp_path / "config.yaml", **{"runner.kind": "process", "runner.workers": 2})
    wd = tmp_path / "work"
    args = ["run", "--config", str(cfg), "--work-dir", str(wd), "--stages", "fetch-tokens"]
    proc = subprocess.Popen([*KUZNIA, *args], cwd=ROOT, env=kuznia_env(tmp_path / "prefect-home"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    stage_dir = wd / folder(CRASH_STAGE)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            done = list((stage_dir / TASKS).glob("*/*.json"))
            if done and not (stage_dir / MANIFEST).exists():
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be killed mid-stage"
        assert not (stage_dir / MANIFEST).exists(), f"{CRASH_STAGE} finished before the kill"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = markers(wd)
    finished_before = len(list((stage_dir / TASKS).glob("*/*.json")))
    assert finished_before >= 1

    kuznia(args, tmp_path)

    after = markers(wd)
    redone = [m for m, t in before.items() if after.get(m) != t]
    assert redone == [], f"finished tasks were run again: {redone}"
    planned = len(list((stage_dir / TASKS).glob("*/*.json")))
    assert planned > finished_before, "the crash left nothing to do: it was not mid-stage"
    for stage in ("corpus", "tokens"):
        assert data_files(wd, stage) == data_files(reference, stage), stage
