"""`kuznia`: run the pipeline (as a Prefect flow), one stage (no server), or look at a work dir."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from corpus.stage import StageError, run_stage, stage_status
from flows.config import DEFAULT_CONFIG, ConfigError, PipelineConfig, load_config
from flows.runners import local_mapper
from flows.stages import STAGES, spec

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console(stderr=True)

ConfigOpt = Annotated[str, typer.Option("--config", "-c", help="Pipeline config (YAML).")]
WorkDirOpt = Annotated[Optional[str], typer.Option("--work-dir", "-w", help="Overrides the config's work_dir.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Re-run even when up to date.")]


def _load(config: str, work_dir: str | None) -> PipelineConfig:
    try:
        return load_config(config, work_dir=work_dir)
    except ConfigError as e:
        console.print(f"[red]{e}[/red]", highlight=False)
        raise typer.Exit(2) from None


def _fail(e: Exception) -> None:
    console.print(f"[red]error:[/red] {e}", highlight=False)
    raise typer.Exit(1)


@app.command()
def run(
    config: ConfigOpt = DEFAULT_CONFIG,
    work_dir: WorkDirOpt = None,
    stages: Annotated[Optional[str], typer.Option(help="Stages to run: `a,b` or a range `a-b` (DAG order).")] = None,
    force: ForceOpt = False,
) -> None:
    """Run the pipeline as a Prefect flow (ephemeral API unless PREFECT_API_URL is set)."""
    _load(config, work_dir)  # fail on a bad config before Prefect starts
    from flows.pipeline import ensure_api, pipeline

    ensure_api()
    try:
        results = pipeline(config=config, work_dir=work_dir, stages=stages, force=force)
    except (StageError, ConfigError) as e:
        _fail(e)
    for r in results:
        console.print(f"{r['stage']:>10}  {'up to date' if r['skipped'] else 'ran'}")


@app.command()
def stage(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(STAGES)}")],
    config: ConfigOpt = DEFAULT_CONFIG,
    work_dir: WorkDirOpt = None,
    source: Annotated[Optional[str], typer.Option(help="Only this source's tasks (e.g. `wikipedia`).")] = None,
    force: ForceOpt = False,
) -> None:
    """Run one stage in this process (a local process pool for its tasks), without Prefect."""
    cfg = _load(config, work_dir)
    try:
        s = spec(name)
        mapper = local_mapper(s, cfg)
        run_stage(s, cfg, Path(cfg.work_dir), force=force, source=source, mapper=mapper,
                  log=lambda m: console.print(m, highlight=False))
    except StageError as e:
        _fail(e)


@app.command()
def status(config: ConfigOpt = DEFAULT_CONFIG, work_dir: WorkDirOpt = None) -> None:
    """Every stage: done / stale / missing, with its main counts."""
    cfg = _load(config, work_dir)
    wd = Path(cfg.work_dir)
    table = Table(title=f"kuznia status — {wd}")
    for col in ("stage", "state", "counts", "outputs"):
        table.add_column(col)
    colors = {"done": "green", "stale": "yellow", "missing": "red"}
    for name in STAGES:
        try:
            state, m = stage_status(spec(name), cfg, wd)
        except StageError as e:
            state, m = f"error: {e}", None
        counts = _summary_counts((m or {}).get("counts", {}))
        outs = (m or {}).get("outputs", [])
        size = sum(o.get("bytes", 0) for o in outs)
        table.add_row(name, f"[{colors.get(state, 'red')}]{state}[/]", counts,
                      f"{len(outs)} files, {size / 1e6:.1f} MB" if m else "")
    Console().print(table)


def _summary_counts(counts: dict, limit: int = 4) -> str:
    """The first few scalar counts of a manifest, for one table cell."""
    items = [(k, v) for k, v in counts.items() if isinstance(v, (int, float))][:limit]
    return ", ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v:.3g}" for k, v in items)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
