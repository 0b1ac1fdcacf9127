"""Keeping the corpus report current: rebuilt whenever a stage it shows has run (no Prefect)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from corpus.report.build import build_report
from flows.config import PipelineConfig


def refresh_report(cfg: PipelineConfig, work_dir: Path, log: Callable[[str], None] = print) -> Path | None:
    """Rebuild the corpus report (HTML + JSON); a report problem must not fail the stages that
    ran, so it is logged and None returned."""
    try:
        return build_report(work_dir, cfg.corpus, cfg.name)
    except Exception as e:  # noqa: BLE001
        log(f"corpus report not rebuilt: {type(e).__name__}: {e}")
        return None
