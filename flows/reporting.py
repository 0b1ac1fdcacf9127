"""Keeping the reports current: the corpus report whenever a stage it shows has run, the training
report after the stages it shows (no Prefect)."""

from __future__ import annotations

from collections.abc import Callable
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
