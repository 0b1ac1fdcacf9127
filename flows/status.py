"""`kuznia status`: every stage done / stale / missing, why, and what a rerun would do."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from flows.config import PipelineConfig
from kuznia import registry
from kuznia.manifest import Status, stage_status
from kuznia.stage import StageError, load_spec

COLORS = {"done": "green", "stale": "yellow", "missing": "red"}


def statuses(cfg: PipelineConfig, work_dir: Path) -> dict[str, Status]:
    """Each stage's status in DAG order; a stage reading a stale or missing one is stale too."""
    out: dict[str, Status] = {}
    for name in registry.NAMES:
        try:
            out[name] = stage_status(load_spec(name), cfg, work_dir, upstream=out)
        except StageError as e:
            out[name] = Status("missing", f"unreadable: {e}", None)
    return out


def _counts_cell(name: str, m: dict | None, limit: int = 4) -> str:
    """A few scalar counts of a manifest (and the final val bits per byte of train)."""
    if not m:
        return ""
    counts = m.get("counts", {})
    items = [(k, v) for k, v in counts.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    cell = ", ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v:.3g}" for k, v in items[:limit])
    bpb = ((m.get("eval") or {}).get("val_bpb")) if name == "train" else None
    return f"val bpb={bpb:.4f}; {cell}" if bpb is not None else cell


def first_not_done(st: dict[str, Status]) -> str | None:
    """The first stage (DAG order) that is not done, or None."""
    return next((n for n, s in st.items() if s.state != "done"), None)


def render(st: dict[str, Status], work_dir: Path, console: Console) -> None:
    table = Table(title=f"kuznia status — {work_dir}")
    for col in ("stage", "state", "why", "counts", "outputs"):
        table.add_column(col, overflow="fold")
    for name, s in st.items():
        outs = (s.manifest or {}).get("outputs", [])
        size = sum(o.get("bytes", 0) for o in outs)
        table.add_row(name, f"[{COLORS.get(s.state, 'red')}]{s.state}[/]", s.reason,
                      _counts_cell(name, s.manifest), f"{len(outs)} files, {size / 1e6:.1f} MB" if s.manifest else "")
    console.print(table)
    first = first_not_done(st)
    if first is None:
        console.print("every stage is done")
        return
    later = [n for n in registry.NAMES[registry.NAMES.index(first) + 1:]]
    console.print(f"first stage to run: {first} ({st[first].state}: {st[first].reason}); "
                  f"`kuznia run` runs it and, where their input changes, {', '.join(later) or 'nothing else'}",
                  highlight=False)
