"""Keeping the reports current: the corpus report whenever a stage it shows has run, the training
report after the stages it shows (no Prefect)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from flows.config import PipelineConfig
from kuznia import registry


def refresh_report(cfg: PipelineConfig, work_dir: Path, log: Callable[[str], None] = print) -> Path | None:
    """Rebuild the corpus report (HTML + JSON); a report problem must not fail the stages that
    ran, so it is logged and None returned."""
    from corpus.report.build import build_report  # matplotlib: only when a report is drawn

    try:
        return build_report(work_dir, cfg.corpus, cfg.name)
    except Exception as e:  # noqa: BLE001
        log(f"corpus report not rebuilt: {type(e).__name__}: {e}")
        return None


# Stages after which the training report is rebuilt (train writes it itself as it goes; eval's
# comparison of models is shown in it).
TRAINING_REPORT_AFTER = ("eval",)


def refresh_training_report(cfg: PipelineConfig, work_dir: Path, log: Callable[[str], None] = print) -> Path | None:
    """Rebuild the training report (`checkpoints/report/report.html`) when the run has metrics; a
    report problem is logged, never fatal."""
    from train.metrics import METRICS
    from train.report.build import build_training_report

    root = Path(work_dir) / registry.folder("train")
    if not (root / METRICS).exists():
        return None
    try:
        return build_training_report(root)
    except Exception as e:  # noqa: BLE001
        log(f"training report not rebuilt: {type(e).__name__}: {e}")
        return None


class ReportRefresher:
    """The corpus report rebuilt on a thread of its own while the next stage runs (its workers
    are other processes; the flow's thread only waits on them), instead of between the stages.
    At most one rebuild runs and one waits: a request while one waits is already covered.
    `wait()` before a stage that draws in this process (train, export, eval: matplotlib is not
    for two threads at once) and at the end of the run."""

    def __init__(self, cfg: PipelineConfig, work_dir: Path, log: Callable[[str], None] = print):
        self.cfg, self.work_dir, self.log = cfg, work_dir, log
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="corpus-report")
        self._queued: Future | None = None
        self._lock = threading.Lock()

    def request(self) -> None:
        with self._lock:
            if self._queued is not None and not self._queued.running() and not self._queued.done():
                return
            self._queued = self._pool.submit(refresh_report, self.cfg, self.work_dir, self.log)

    def wait(self) -> None:
        with self._lock:
            queued = self._queued
        if queued is not None:
            queued.result()

    def close(self) -> None:
        self.wait()
        self._pool.shutdown(wait=True)
