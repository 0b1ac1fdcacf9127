"""Watching a `kuznia run` from outside: memory and CPU of its process tree, disk of its work dir.

`Monitor` samples, every `interval_s`, the resident memory of the run's main process, of its
largest pool worker and of the temporary API server, the CPU seconds of every process in the
tree (a process's last reading is kept after it exits), and, less often, the bytes under each
folder of the work dir. `bench/scale.py` cuts the samples into stage windows.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil


@dataclass
class Sample:
    t: float
    main_rss: int
    worker_rss: int  # the largest pool worker's
    api_rss: int
    main_cpu_s: float
    tree_cpu_s: float
    disk: dict[str, int] | None = None  # folder -> bytes (only on some samples)


def folder_bytes(root: Path) -> dict[str, int]:
    """Bytes of disk the files under each top-level folder of `root` take (allocated blocks, as
    `du` counts them: a file whose blocks were handed back while it is read takes less than its
    size)."""
    out: dict[str, int] = {}
    if not root.exists():
        return out
    for top in root.iterdir():
        total = 0
        if top.is_file():
            total = top.stat().st_blocks * 512
        else:
            for dirpath, _, files in os.walk(top):
                for f in files:
                    try:
                        total += os.stat(os.path.join(dirpath, f)).st_blocks * 512
                    except OSError:  # removed while we looked
                        pass
        out[top.name] = total
    return out


@dataclass
class Monitor:
    pid: int
    work_dir: Path
    interval_s: float = 0.5
    disk_every: int = 6
    samples: list[Sample] = field(default_factory=list)
    _cpu: dict[int, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Monitor:
        self._thread = threading.Thread(target=self._loop, name="scale-monitor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        n = 0
        while not self._stop.is_set():
            s = self.sample(disk=n % self.disk_every == 0)
            if s is None:
                return
            self.samples.append(s)
            n += 1
            self._stop.wait(self.interval_s)

    def sample(self, disk: bool) -> Sample | None:
        try:
            main = psutil.Process(self.pid)
            procs = [main, *main.children(recursive=True)]
        except psutil.NoSuchProcess:
            return None
        main_rss = worker_rss = api_rss = 0
        main_cpu = 0.0
        for p in procs:
            try:
                with p.oneshot():
                    rss = p.memory_info().rss
                    cpu = sum(p.cpu_times()[:2])
                    cmd = " ".join(p.cmdline())
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
            self._cpu[p.pid] = cpu
            if p.pid == self.pid:
                main_rss, main_cpu = rss, cpu
            elif "uvicorn" in cmd:
                api_rss = max(api_rss, rss)
            else:
                worker_rss = max(worker_rss, rss)
        return Sample(time.time(), main_rss, worker_rss, api_rss, main_cpu, sum(self._cpu.values()),
                      folder_bytes(self.work_dir) if disk else None)

    def window(self, t0: float, t1: float) -> list[Sample]:
        """The samples taken between t0 and t1 (at least the nearest one)."""
        inside = [s for s in self.samples if t0 <= s.t <= t1]
        if inside or not self.samples:
            return inside
        return [min(self.samples, key=lambda s: abs(s.t - (t0 + t1) / 2))]
