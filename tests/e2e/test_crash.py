"""Crash recovery: `kuznia run` killed with SIGKILL in the middle of a data stage, then run again,
ends with a corpus and token shards byte-identical to an uninterrupted run, and re-does only the
tasks that had not finished. While it runs, a second run on the same work dir is refused at once,
naming the first; killing the first (its process alone) takes its pool workers, their resource
tracker and its temporary API server with it, and releases the lock."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from e2e_support import KUZNIA, ROOT, data_files, e2e_config, kuznia, kuznia_env

from kuznia.registry import folder
from kuznia.stage import MANIFEST, TASKS

pytestmark = pytest.mark.slow
CRASH_STAGE = "quality"  # many tasks (one per docs part), each a second or so


def markers(wd: Path) -> dict[str, int]:
    """Every task marker under the work dir -> its mtime (a re-run task rewrites its marker)."""
    return {p.relative_to(wd).as_posix(): p.stat().st_mtime_ns for p in wd.glob(f"*/{TASKS}/*/*.json")}


def still_running(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """The processes still running (zombies count as gone) after waiting up to `timeout`."""
    def running(p: psutil.Process) -> bool:
        try:
            return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    deadline = time.monotonic() + timeout
    while (alive := [p for p in procs if running(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive


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

        t0 = time.monotonic()
        second = kuznia(args, tmp_path / "second", check=False)
        took = time.monotonic() - t0
        said = " ".join((second.stdout + second.stderr).split())
        assert second.returncode == 1 and f"is in use by pid {proc.pid} on " in said, said
        assert took < 2.0, f"the second run took {took:.1f} s to fail"

        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 3  # two pool workers and the API server at least
        proc.kill()  # the parent alone: its children must notice
        proc.wait()
        alive = still_running(children, timeout=10)
        assert not alive, f"left running after the parent died: {[' '.join(p.cmdline())[:80] for p in alive]}"
    finally:
        with contextlib.suppress(ProcessLookupError):
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
