"""The report's headline numbers for Prefect artifacts (markdown and a table), from `report.json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from corpus.select.tables import REPORTS_DIR
from kuznia.registry import folder


def summary_rows(report: dict) -> list[dict]:
    """One row per source: the funnel in documents and characters (a Prefect table artifact)."""
    f = report["funnel"]
    rows = []
    for s, steps in sorted(f.get("sources", {}).items()):
        row: dict[str, Any] = {"source": s}
        for step in f.get("steps", []):
            row[f"{step}_docs"] = (steps.get(step) or {}).get("docs")
            row[f"{step}_chars"] = (steps.get(step) or {}).get("chars")
        rows.append(row)
    return rows


def summary_markdown(report: dict, charts: bool = False) -> str:
    """The report's headline numbers as markdown (a Prefect markdown artifact); with `charts`,
    the funnel and the reject reasons drawn inline (PNG data URIs, which the Prefect UI shows)."""
    f = report["funnel"]
    lines = [f"# {report['title']}", ""]
    if charts:
        lines += _charts(report)
    if f.get("steps"):
        lines += ["| step | documents | characters |", "|---|---:|---:|"]
        for step in f["steps"]:
            t = f["total"].get(step) or {}
            ch = t.get("chars")
            lines.append(f"| {step} | {t.get('docs', 0):,} | {'—' if ch is None else f'{ch:,}'} |")
        lines.append("")
    r = report["reasons"]
    if "total" in r:
        lines += ["| reject reason | stage | documents |", "|---|---|---:|"]
        for reason, v in sorted(r["total"].items(), key=lambda kv: -kv[1]["docs"]):
            lines.append(f"| {reason} | {r['stages'].get(reason, '')} | {v['docs']:,} |")
        lines.append("")
    t = report["tokens"]
    if "estimated_total" in t:
        lines.append(f"Estimated tokens: {t['estimated_total']:,} ({t['basis']}).")
    if report["missing"]:
        lines += ["", "Missing sections:", *[f"- {s}" for s in report["missing"]]]
    return "\n".join(lines) + "\n"


def _charts(report: dict) -> list[str]:
    from corpus.report import plots  # matplotlib: only when charts are asked for

    out = []
    f = report["funnel"]
    if f.get("steps"):
        totals = [f["total"].get(step) or {} for step in f["steps"]]
        png = plots.funnel_chart(f["steps"], [t.get("docs", 0) for t in totals], [t.get("chars") for t in totals])
        out += [f"![funnel]({png})", ""]
    reasons = sorted((report["reasons"].get("total") or {}).items(), key=lambda kv: -kv[1]["docs"])[:12]
    if reasons:
        png = plots.bar_chart([r for r, _ in reasons], [v["docs"] for _, v in reasons],
                              "Documents dropped, by reason", "documents")
        out += [f"![reasons]({png})", ""]
    return out


def load_report_json(work_dir: Path | str) -> dict:
    """The last written `report.json` (for `kuznia report --json`, artifacts)."""
    return json.loads((Path(work_dir) / folder("corpus") / REPORTS_DIR / "report.json").read_text("utf-8"))

