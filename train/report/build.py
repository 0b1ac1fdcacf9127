"""The training report: `checkpoints/report/report.json` + one self-contained `report.html`.

Built from what the run writes as it goes, never by recomputing: `metrics.jsonl` (curves,
evaluations, per-source bits per byte), `samples.jsonl`, `run.json` (model, recipe, val set), the
checkpoint folders, the runs set aside under `superseded/`, and, when the eval stage has run,
its comparison of models (`<work_dir>/eval/_manifest.json`). The trainer rewrites it at each
evaluation (`train/observe.py`); `kuznia report` and the eval stage's flow rebuild it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from kuznia.files import write_json_atomic, write_text_atomic
from kuznia.stage import read_manifest
from train.checkpoint import SUPERSEDED, list_checkpoints
from train.metrics import METRICS, read_jsonl
from train.samples import SAMPLES

RUN = "run.json"  # the run's fixed facts, written by `train/observe.py`
REPORT_DIR = "report"
EVAL_FOLDER = "eval"  # the eval stage's folder, beside `checkpoints/` (kuznia.registry)


def _curves(records: list[dict]) -> dict:
    logged = [r for r in records if "lr" in r]
    return {k: [r.get(k) for r in logged] for k in
            ("step", "loss", "lr", "grad_norm", "tokens", "tokens_per_s", "mfu", "mem_gib", "time")}


def _evals(records: list[dict]) -> list[dict]:
    keys = ("step", "tokens", "val_loss", "val_ppl", "val_bpb", "val_tokens", "val_bytes", "val_sources")
    return [{k: r.get(k) for k in keys} for r in records if r.get("val_loss") is not None]


def _status(records: list[dict], facts: dict) -> dict:
    """Where the run stands: steps, tokens, last figures, time so far and the time left at the
    recent pace (from the wall times of the last logged steps, evaluations included)."""
    max_steps = (facts.get("train") or {}).get("max_steps")
    if not records:
        return {"step": 0, "max_steps": max_steps}
    last = records[-1]
    timed = [r for r in records if r.get("time") is not None]
    eta = None
    if len(timed) >= 2 and max_steps:
        recent = timed[-min(len(timed), 20):]
        pace = (recent[-1]["time"] - recent[0]["time"]) / max(1, recent[-1]["step"] - recent[0]["step"])
        eta = round(pace * (max_steps - last["step"]), 1)
    evals = _evals(records)
    return {"step": last["step"], "max_steps": max_steps, "tokens": (last["step"] * facts["tokens_per_step"])
            if facts.get("tokens_per_step") else last.get("tokens"),
            "loss": last.get("loss"), "val_loss": evals[-1]["val_loss"] if evals else None,
            "val_bpb": evals[-1]["val_bpb"] if evals else None,
            "peak_mem_gib": max((r.get("mem_gib") or 0 for r in records), default=None),
            "updated": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timed[-1]["time"])) if timed else None,
            "eta_s": eta}


def _checkpoints(root: Path, evals: list[dict]) -> list[dict]:
    """Each complete checkpoint with its size and the figures of the evaluation at its step."""
    by_step = {e["step"]: e for e in evals}
    out = []
    for step, path in list_checkpoints(root):
        e = by_step.get(step) or {}
        out.append({"step": step, "folder": path.name, "val_loss": e.get("val_loss"), "val_bpb": e.get("val_bpb"),
                    "bytes": sum(p.stat().st_size for p in path.iterdir() if p.is_file())})
    return out


def _superseded(root: Path) -> list[dict]:
    """Runs set aside (another tokenizer, other data, a damaged checkpoint), with why."""
    base = Path(root) / SUPERSEDED
    out = []
    for d in sorted(base.iterdir()) if base.is_dir() else []:
        why = (d / "WHY").read_text("utf-8").strip() if (d / "WHY").exists() else ""
        steps = [r["step"] for r in read_jsonl(d / METRICS)]
        out.append({"folder": f"{SUPERSEDED}/{d.name}", "why": why, "last_step": max(steps, default=None)})
    return out


def _comparison(root: Path) -> dict | None:
    m = read_manifest(Path(root).parent / EVAL_FOLDER)
    return (m or {}).get("results")


def gather(root: Path, title: str | None = None) -> dict:
    """Everything the report shows, as plain JSON (`report.json`)."""
    root = Path(root)
    records = read_jsonl(root / METRICS)
    facts = json.loads((root / RUN).read_text("utf-8")) if (root / RUN).exists() else {}
    evals = _evals(records)
    missing = []
    if not records:
        missing.append("no metrics yet: the run has not logged a step (`kuznia stage train`)")
    if not evals:
        missing.append("no evaluation yet: val figures come at train.eval_every_steps and at the end")
    return {"title": title or f"Training report — {root.resolve().parent.name}", "facts": facts,
            "status": _status(records, facts), "curves": _curves(records), "evals": evals,
            "checkpoints": _checkpoints(root, evals), "superseded": _superseded(root),
            "samples": read_jsonl(root / SAMPLES), "comparison": _comparison(root), "missing": missing}


def build_training_report(root: Path, title: str | None = None) -> Path:
    """Write `report/report.json` and `report/report.html` under a checkpoints folder."""
    from train.report.html import render

    report = gather(root, title)
    out = Path(root) / REPORT_DIR
    write_json_atomic(out / "report.json", report)
    write_text_atomic(out / "report.html", render(report))
    return out / "report.html"
