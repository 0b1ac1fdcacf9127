"""What a run shows in the Prefect UI: each stage's counts, and the corpus report's summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)

import flows.prefect_env  # noqa: F401  (must precede the Prefect import)
from corpus.report.summary import load_report_json, summary_markdown, summary_rows
from corpus.select.tables import REPORTS_DIR
from kuznia.registry import folder
from kuznia.stage import StageResult


def _flatten(d: Any, prefix: str = ""):
    """Nested counts as (dotted key, value) pairs."""
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _flatten(v, f"{prefix}{k}.")
    else:
        yield prefix.rstrip("."), d


def publish_stage(result: StageResult) -> None:
    """The stage's counts as a Prefect markdown + table artifact (keys must be lowercase-dashes)."""
    m = result.manifest or {}
    flat = [{"count": k, "value": v} for k, v in _flatten(m.get("counts", {}))]
    key = f"kuznia-{result.stage}"
    state = "skipped (up to date)" if result.skipped else "ran"
    md = [f"# Stage `{result.stage}` — {state}", "", f"fingerprint `{result.fingerprint}`", ""]
    if m.get("timings"):
        md.append("timings (s): " + ", ".join(f"{k} {v}" for k, v in m["timings"].items()))
    create_markdown_artifact("\n".join(md), key=key, description=f"stage {result.stage}")
    if flat:
        create_table_artifact(flat[:1000], key=f"{key}-counts", description=f"{result.stage} counts")


def publish_report(work_dir: Path) -> None:
    """The corpus report's summary as Prefect artifacts, with a link to the HTML file."""
    try:
        rep = load_report_json(work_dir)
    except FileNotFoundError:
        return
    create_markdown_artifact(summary_markdown(rep), key="kuznia-corpus-report", description="corpus report")
    rows = summary_rows(rep)
    if rows:
        create_table_artifact(rows, key="kuznia-corpus-funnel", description="funnel per source")
    html = (work_dir / folder("corpus") / REPORTS_DIR / "report.html").resolve()
    create_link_artifact(html.as_uri(), link_text="corpus report (HTML)", key="kuznia-corpus-report-html")
