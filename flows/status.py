"""`kuznia status`: every stage done / stale / missing, why, and what a rerun would do."""

from __future__ import annotations

import shlex
from pathlib import Path

from rich.console import Console
from rich.table import Table

from flows.config import PipelineConfig
from kuznia import registry
from kuznia.manifest import Status, stage_status
from kuznia.prune import PRUNED
from kuznia.stage import StageError, load_spec, read_manifest
from kuznia.verify import Damage, StageCheck, verify_stage

COLORS = {"done": "green", "stale": "yellow", "missing": "red", "damaged": "red"}


def statuses(cfg: PipelineConfig, work_dir: Path) -> dict[str, Status]:
    """Each stage's status in DAG order; a stage reading a stale or missing one is stale too."""
    out: dict[str, Status] = {}
    for name in registry.NAMES:
        try:
            out[name] = stage_status(load_spec(name), cfg, work_dir, upstream=out)
        except StageError as e:
            out[name] = Status("missing", f"unreadable: {e}", None)
    return out


def verify_all(work_dir: Path, *, checksums: bool = True) -> list[StageCheck]:
    """Every stage's outputs against its manifest (and every checkpoint against its sentinel)."""
    from train.checkpoint import CheckpointError, check_files, list_checkpoints

    checks = []
    for info in registry.STAGES:
        check = verify_stage(work_dir, info.name, info.folder, checksums=checksums)
        if check is None:
            continue
        if info.name == "train":
            for _, p in list_checkpoints(work_dir / info.folder):
                try:
                    check_files(p, checksums=checksums)
                except CheckpointError as e:
                    check.damage.append(Damage(f"{info.folder}/{p.name}", str(e)))
        checks.append(check)
    return checks


def repair_command(check: StageCheck, options: str = "") -> str:
    """What repairs a stage's damaged files (training continues from its newest good checkpoint);
    `options` are the `--config` / `--work-dir` the user gave, so that the command runs as printed."""
    cmd = "kuznia stage train --force" if check.stage == "train" else check.repair
    return f"{cmd} {options}".strip()


def cli_options(config: str, work_dir: str | None, default_config: str) -> str:
    """The `--config` / `--work-dir` options of a command line, as given (quoted for a shell)."""
    parts = [] if config == default_config else ["--config", shlex.quote(str(config))]
    if work_dir:
        parts += ["--work-dir", shlex.quote(str(work_dir))]
    return " ".join(parts)


def mark_damaged(st: dict[str, Status], checks: list[StageCheck], options: str = "") -> None:
    """A stage with damaged files is `damaged`, whatever its fingerprint says."""
    for c in checks:
        if c.damage:
            st[c.stage] = Status("damaged", f"{len(c.damage)} file(s) damaged; repair: `{repair_command(c, options)}`",
                                 st[c.stage].manifest)


def render_verify(checks: list[StageCheck], console: Console, options: str = "") -> bool:
    """A table of what was checked, then every damaged file with its repair; True when all is well."""
    table = Table(title="kuznia verify")
    for col in ("stage", "files", "MB", "MB/s", "result"):
        table.add_column(col)
    for c in checks:
        rate = c.bytes / 1e6 / c.seconds if c.seconds > 0 else 0.0
        ok = f"[green]ok[/] ({c.pruned_files:,} removed on purpose)" if c.pruned_files else "[green]ok[/]"
        table.add_row(c.stage, f"{c.files:,}", f"{c.bytes / 1e6:,.1f}", f"{rate:,.0f}",
                      "[red]damaged[/]" if c.damage else ok)
    console.print(table)
    for c in checks:
        for d in c.damage:
            console.print(f"[red]damaged[/red] {d.path}: {d.problem}", highlight=False)
        if c.damage:
            console.print(f"  repair: `{repair_command(c, options)}`", highlight=False)
    return not any(c.damage for c in checks)


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
        gone = (s.manifest or {}).get(PRUNED)
        where = f"{len(outs)} files, {size / 1e6:.1f} MB" if s.manifest else ""
        if gone:
            what = "scratch files" if gone.get("scratch") else "parts"
            where += f" ({gone['files']:,} {what}, {gone['bytes'] / 1e6:,.1f} MB removed: disk.remove_intermediate)"
        table.add_row(name, f"[{COLORS.get(s.state, 'red')}]{s.state}[/]", s.reason,
                      _counts_cell(name, s.manifest), where)
    console.print(table)
    for name in ("fetch", "docs"):
        for src, why in ((st[name].manifest or {}).get("failed") or {}).items():
            console.print(f"[yellow]failed source[/yellow] ({name}) {src}: {why}", highlight=False)
    first = first_not_done(st)
    if first is None:
        console.print("every stage is done")
        return
    later = [n for n in registry.NAMES[registry.NAMES.index(first) + 1:]]
    console.print(f"first stage to run: {first} ({st[first].state}: {st[first].reason}); "
                  f"`kuznia run` runs it and, where their input changes, {', '.join(later) or 'nothing else'}",
                  highlight=False)


def eval_tables(work_dir: Path) -> list[Table]:
    """The eval stage's results, bits per byte: a row per model (the val text over all sources and
    each file), then a row per val source with a column per model."""
    m = read_manifest(Path(work_dir) / registry.folder("eval")) or {}
    res = m.get("results") or {"models": [], "sets": []}
    models, sets = res["models"], [s["name"] for s in res["sets"]]

    def bpb(model: dict, s: str) -> str:
        v = (model["sets"].get(s) or {}).get("bpb")
        return "—" if v is None else f"{v:.4f}"

    overall = [s for s in sets if not s.startswith("val: ")]
    by_model = Table(title="bits per byte (lower is better), the same text for every model")
    for i, col in enumerate(("model", "parameters", *overall)):
        by_model.add_column(col, overflow="fold", justify="left" if i == 0 else "right")
    for model in models:
        by_model.add_row(model["name"], f"{model['parameters']:,}", *(bpb(model, s) for s in overall))
    by_source = Table(title="per val source")
    for i, col in enumerate(("source", *(model["name"] for model in models))):
        by_source.add_column(col, overflow="fold", justify="left" if i == 0 else "right")
    for s in sets:
        if s.startswith("val: "):
            by_source.add_row(s.removeprefix("val: "), *(bpb(model, s) for model in models))
    return [by_model, by_source]
