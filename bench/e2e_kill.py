"""Kill a command with SIGKILL (its whole process group) once a stage has finished some, not all,
of its tasks; returns the markers of the finished tasks (path -> mtime) and when it was killed."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def kill_mid_stage(cmd: list[str], stage_dir: Path, env: dict, log: Path, *, min_done: int = 2,
                   timeout_s: float = 3600) -> tuple[dict[Path, int], float]:
    t0 = time.time()
    started = t0
    with open(log, "a") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        while time.time() - t0 < timeout_s:
            if proc.poll() is not None:
                raise SystemExit(f"{' '.join(cmd)} ended (rc {proc.returncode}) before it could be killed")
            fresh = [p for p in (stage_dir / "_tasks").glob("*/*.json") if p.stat().st_mtime > started]
            if len(fresh) >= min_done:
                break
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    markers = {p: p.stat().st_mtime_ns for p in (stage_dir / "_tasks").glob("*/*.json")
               if p.stat().st_mtime > started}  # written by the killed run
    return markers, round(time.time() - t0, 1)
