"""What a run shows in the Prefect UI: each stage's counts, the corpus report, the run's summary.

Keys carry the config's name and a hash of the work dir (`kuznia-<name>-<hash>-…`), so two
configs or two work dirs never overwrite each other's latest artifact. The report is published
once per run, as markdown with its charts inline (the Prefect UI renders them; a link to the
HTML file would only work on the machine that ran the flow), plus its table of sources.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import xxhash
from prefect.artifacts import create_markdown_artifact, create_table_artifact

import flows.prefect_env  # noqa: F401  (must precede the Prefect import)
from corpus.report.summary import load_report_json, summary_markdown, summary_rows
from corpus.select.tables import REPORTS_DIR
from flows.config import PipelineConfig
from kuznia import registry
from kuznia.stage import StageResult


def artifact_prefix(cfg: PipelineConfig) -> str:
    """`kuznia-<config name>-<6 hex of the work dir>` (Prefect keys: lowercase, digits, dashes)."""
    name = re.sub(r"[^a-z0-9]+", "-", cfg.name.lower()).strip("-") or "run"
    where = xxhash.xxh64_hexdigest(str(Path(cfg.work_dir).resolve()).encode())[:6]
    return f"kuznia-{name}-{where}"


def _flatten(d: Any, prefix: str = ""):
    """Nested counts as (dotted key, value) pairs."""
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _flatten(v, f"{prefix}{k}.")
    else:
        yield prefix.rstrip("."), d


def publish_stage(result: StageResult, prefix: str) -> None:
    """The stage's counts as a markdown + table artifact."""
    m = result.manifest or {}
    flat = [{"count": k, "value": v} for k, v in _flatten(m.get("counts", {}))]
    key = f"{prefix}-{result.stage}"
    state = "skipped (up to date)" if result.skipped else "ran"
    md = [f"# Stage `{result.stage}` — {state}", "", f"fingerprint `{result.fingerprint}`", ""]
    if m.get("timings"):
        md.append("timings (s): " + ", ".join(f"{k} {v}" for k, v in m["timings"].items()))
    create_markdown_artifact("\n".join(md), key=key, description=f"stage {result.stage}")
    if flat:
        create_table_artifact(flat[:1000], key=f"{key}-counts", description=f"{result.stage} counts")


def publish_report(work_dir: Path, prefix: str) -> None:
    """The corpus report's summary with its charts, and the funnel per source."""
    try:
        rep = load_report_json(work_dir)
    except FileNotFoundError:
        return
    html = (work_dir / registry.folder("corpus") / REPORTS_DIR / "report.html").resolve()
    md = summary_markdown(rep, charts=True) + f"\nThe full report: `{html}` (on the machine that ran the flow).\n"
    create_markdown_artifact(md, key=f"{prefix}-corpus-report", description="corpus report")
    rows = summary_rows(rep)
    if rows:
        create_table_artifact(rows, key=f"{prefix}-corpus-funnel", description="funnel per source")


def publish_run(results: list[dict], failure: str | None, work_dir: Path, prefix: str, name: str) -> None:
    """The run's summary on the parent flow run: each stage, ran or up to date, and the failure."""
    lines = [f"# Kuźnia run `{name}` — {'failed' if failure else 'done'}", "", f"work dir `{work_dir}`", "",
             "| stage | result | seconds |", "|---|---|---:|"]
    for r in results:
        lines.append(f"| {r['stage']} | {'up to date' if r['skipped'] else 'ran'} | {r.get('seconds') or ''} |")
    if failure:
        lines += ["", f"**Failed:** {failure}"]
    create_markdown_artifact("\n".join(lines) + "\n", key=f"{prefix}-run", description=f"run of {name}")


class PrefectReporter:
    """The run reporter (`kuznia.progress.RunReporter`) of a flow: a long task's progress and its
    summaries as Prefect artifacts, keys under the run's prefix. Library code (the trainer) calls
    it through `kuznia.progress.run_reporter()`, so it never imports Prefect."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self._progress: dict[str, Any] = {}  # key -> the progress artifact's id

    def progress(self, key: str, percent: float, description: str) -> None:
        from prefect.artifacts import create_progress_artifact, update_progress_artifact

        if key not in self._progress:
            self._progress[key] = create_progress_artifact(percent, key=f"{self.prefix}-{key}", description=description)
        else:
            update_progress_artifact(self._progress[key], percent, description=description)

    def markdown(self, key: str, markdown: str, description: str) -> None:
        create_markdown_artifact(markdown, key=f"{self.prefix}-{key}", description=description)

    def table(self, key: str, rows: list[dict], description: str) -> None:
        create_table_artifact(rows, key=f"{self.prefix}-{key}", description=description)
