"""`kuznia`: run the pipeline (as a Prefect flow), one stage (no server), or look at a work dir."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
import yaml
from rich.console import Console

from flows.config import DEFAULT_CONFIG, ConfigError, PipelineConfig, load_config
from flows.reporting import TRAINING_REPORT_AFTER
from kuznia import registry
from kuznia.driver import run_stage
from kuznia.files import DiskFull
from kuznia.lock import LockHeld, check_free, hold_run
from kuznia.mappers import local_mapper
from kuznia.registry import UnknownStage
from kuznia.stage import StageError, load_spec

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console(stderr=True)

ConfigOpt = Annotated[str, typer.Option("--config", "-c", help="Pipeline config (YAML).")]
WorkDirOpt = Annotated[Optional[str], typer.Option("--work-dir", "-w", help="Overrides the config's work_dir.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Re-run even when up to date.")]
SetOpt = Annotated[Optional[list[str]], typer.Option(
    "--set", help="Override a config key: `--set train.max_steps=20` (YAML value; repeatable).")]


def _overrides(items: list[str] | None) -> dict:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            console.print(f"[red]--set {item!r}: expected KEY=VALUE, e.g. --set train.max_steps=20[/red]")
            raise typer.Exit(2)
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as e:
            where = getattr(e, "problem", None) or type(e).__name__
            console.print(f"[red]--set {item!r}: the value is not valid YAML ({where}); quote it to mean the "
                          f"text, e.g. --set '{key.strip()}=\"{value}\"'[/red]", highlight=False)
            raise typer.Exit(2) from None
    return out


def _load(config: str, work_dir: str | None, overrides: dict | None = None) -> PipelineConfig:
    try:
        return load_config(config, work_dir=work_dir, overrides=overrides)
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
    set_: SetOpt = None,
) -> None:
    """Run the pipeline as a Prefect flow (ephemeral API unless PREFECT_API_URL is set)."""
    overrides = _overrides(set_)
    cfg = _load(config, work_dir, overrides)  # a bad config or stage list fails before Prefect starts
    try:
        registry.parse_stages(stages)
    except UnknownStage as e:
        console.print(f"[red]error:[/red] {e}", highlight=False)
        raise typer.Exit(2) from None
    try:
        check_free(cfg.work_dir)  # a second run on a busy work dir fails now, not after Prefect's start-up
    except LockHeld as e:
        _fail(e)
    _check_api()
    from flows.pipeline import ensure_api, pipeline

    ensure_api()
    state = pipeline(config=config, work_dir=work_dir, stages=stages, force=force, overrides=overrides,
                     return_state=True)
    if not state.is_completed():
        _fail(state.message or f"the flow run ended {state.name}")
    for r in state.result():
        console.print(f"{r['stage']:>10}  {'up to date' if r['skipped'] else 'ran'}")


def _check_api() -> None:
    """With PREFECT_API_URL set, the server must answer: one clear line instead of a traceback."""
    import os
    import urllib.request

    url = os.environ.get("PREFECT_API_URL")
    if not url:
        return
    try:
        urllib.request.urlopen(url.rstrip("/") + "/health", timeout=10).read()
    except OSError as e:
        reason = getattr(e, "reason", e)
        console.print(f"[red]error:[/red] PREFECT_API_URL={url} does not answer ({reason}); start the "
                      "server (`prefect server start`), or unset PREFECT_API_URL to let `kuznia run` "
                      "start a temporary one", highlight=False)
        raise typer.Exit(1) from None


@app.command()
def stage(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(registry.NAMES)}")],
    config: ConfigOpt = DEFAULT_CONFIG,
    work_dir: WorkDirOpt = None,
    source: Annotated[Optional[str], typer.Option(help="Only this source's tasks (e.g. `wikipedia`).")] = None,
    force: ForceOpt = False,
    repair: Annotated[bool, typer.Option("--repair", help="Check every finished task's files byte for byte "
                                         "and re-run only the tasks whose files are damaged.")] = False,
    set_: SetOpt = None,
) -> None:
    """Run one stage in this process (a local process pool for its tasks), without Prefect."""
    cfg = _load(config, work_dir, _overrides(set_))
    try:
        s = load_spec(registry.info(name).name)
        workers = cfg.runner.n_workers()
        mapper = local_mapper(s, cfg.runner.kind, workers, s.io_workers(cfg) if s.io_workers else None)
        with hold_run(cfg.work_dir, config=config, shared=True):
            result = run_stage(s, cfg, Path(cfg.work_dir), force=force, source=source, repair=repair,
                               mapper=mapper, workers=workers, log=lambda m: console.print(m, highlight=False))
    except (StageError, UnknownStage, LockHeld, DiskFull) as e:
        _fail(e)
    if s.info.refreshes_report and not result.skipped and result.manifest:
        # imported here: matplotlib, only when a report is drawn
        from flows.reporting import refresh_report

        refresh_report(cfg, Path(cfg.work_dir), lambda m: console.print(f"[yellow]{m}[/yellow]"))
    if s.info.name in TRAINING_REPORT_AFTER and not result.skipped and result.manifest:
        from flows.reporting import refresh_training_report

        refresh_training_report(cfg, Path(cfg.work_dir), lambda m: console.print(f"[yellow]{m}[/yellow]"))


VerifyOpt = Annotated[bool, typer.Option("--verify", help="Also check every file's checksum (sizes are always checked).")]


@app.command()
def status(config: ConfigOpt = DEFAULT_CONFIG, work_dir: WorkDirOpt = None, set_: SetOpt = None,
           verify: VerifyOpt = False) -> None:
    """Every stage: done / stale / missing / damaged and why, its counts, the first stage to run."""
    from flows.status import cli_options, mark_damaged, render, render_verify, statuses, verify_all

    cfg = _load(config, work_dir, _overrides(set_))
    wd = Path(cfg.work_dir)
    st = statuses(cfg, wd)
    checks = verify_all(wd, checksums=verify)
    options = cli_options(config, work_dir, DEFAULT_CONFIG)
    mark_damaged(st, checks, options)
    out = Console()
    render(st, wd, out)
    if any(c.damage for c in checks):
        render_verify(checks, out, options)
        raise typer.Exit(1)


@app.command()
def verify(config: ConfigOpt = DEFAULT_CONFIG, work_dir: WorkDirOpt = None) -> None:
    """Check every file of the work dir against its stage's manifest (sizes and checksums);
    name each damaged file and the command that repairs it. Exit 1 when something is damaged."""
    from flows.status import cli_options, render_verify, verify_all

    cfg = _load(config, work_dir)
    checks = verify_all(Path(cfg.work_dir), checksums=True)
    if not render_verify(checks, Console(), cli_options(config, work_dir, DEFAULT_CONFIG)):
        raise typer.Exit(1)


@app.command()
def report(config: ConfigOpt = DEFAULT_CONFIG, work_dir: WorkDirOpt = None) -> None:
    """(Re)build the corpus quality report (HTML + JSON) from whatever stages have run, and the
    training report when training has begun."""
    from corpus.report.build import build_report
    from corpus.report.summary import load_report_json
    from flows.reporting import refresh_training_report

    cfg = _load(config, work_dir)
    training = refresh_training_report(cfg, Path(cfg.work_dir), lambda m: console.print(f"[yellow]{m}[/yellow]"))
    if training is not None:
        console.print(f"training report: {training}")
    try:
        html = build_report(Path(cfg.work_dir), cfg.corpus, cfg.name)
    except StageError as e:
        _fail(e)
    for line in load_report_json(cfg.work_dir).get("missing", []):
        console.print(f"[yellow]missing:[/yellow] {line}", highlight=False)
    console.print(f"report: {html}")


@app.command("eval")
def eval_(
    model: Annotated[Optional[list[Path]], typer.Option(
        "--model", "-m", help="A Hugging Face causal LM folder or a checkpoint, scored beside the export "
        "(repeatable).")] = None,
    text: Annotated[Optional[list[Path]], typer.Option(
        "--text", help="A .txt or .jsonl file scored as a set of its own (repeatable).")] = None,
    max_bytes: Annotated[Optional[int], typer.Option(
        "--max-bytes", min=1, help="Bytes of text per val source and per file (default: train.eval_bytes_per_source).")] = None,
    no_export: Annotated[bool, typer.Option("--no-export", help="Do not score this run's export.")] = False,
    config: ConfigOpt = DEFAULT_CONFIG,
    work_dir: WorkDirOpt = None,
    force: ForceOpt = False,
    set_: SetOpt = None,
) -> None:
    """Bits per byte of the export and of other models on the same text: the val split per
    source and your files. Runs the `eval` stage with these models added to `eval.models`."""
    import json

    cfg = _load(config, work_dir, _overrides(set_))
    sets = [*(set_ or []), f"eval.models={json.dumps([*cfg.eval.models, *(str(m) for m in model or [])])}",
            f"eval.text_files={json.dumps([*cfg.eval.text_files, *(str(t) for t in text or [])])}"]
    sets += [f"eval.max_bytes={max_bytes}"] if max_bytes else []
    sets += ["eval.export=false"] if no_export else []
    stage("eval", config=config, work_dir=work_dir, source=None, force=force, repair=False, set_=sets)
    from flows.status import eval_tables

    for table in eval_tables(Path(cfg.work_dir)):
        Console().print(table)


@app.command("train-node")
def train_node(config: ConfigOpt = DEFAULT_CONFIG, work_dir: WorkDirOpt = None, set_: SetOpt = None) -> None:
    """This machine's share of a training run over several nodes (`--set train.node_rank=K`, K > 0):
    torchrun with this node's rank and the config's rendezvous; node 0 runs `kuznia stage train`."""
    from train.stage import train_node as run_node

    cfg = _load(config, work_dir, _overrides(set_))
    try:
        run_node(cfg, Path(cfg.work_dir))
    except StageError as e:
        _fail(e)


@app.command("model-info")
def model_info(
    preset: Annotated[str, typer.Argument(help="Model preset: apt3-1b, demo, tiny.")],
    micro_batch: Annotated[int, typer.Option(help="Micro batch for the memory estimate.")] = 1,
    context: Annotated[Optional[int], typer.Option(help="Context length (default: the preset's).")] = None,
    devices: Annotated[int, typer.Option(help="Devices: also print the memory per device with DDP and FSDP.")] = 1,
) -> None:
    """Parameters, FLOPs per token and the estimated training memory of a preset (per device with
    `--devices`)."""
    from model.flops import describe

    try:
        typer.echo(describe(preset, micro_batch=micro_batch, context=context, devices=devices))
    except (KeyError, ValueError) as e:
        _fail(e)


@app.command()
def export(
    config: ConfigOpt = DEFAULT_CONFIG,
    work_dir: WorkDirOpt = None,
    checkpoint: Annotated[Optional[Path], typer.Option(help="A step-NNNNNNN folder or checkpoints/ (newest).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Where to write the transformers folder.")] = None,
    dtype: Annotated[str, typer.Option(help="Weights dtype: bfloat16, float16, float32.")] = "bfloat16",
    force: ForceOpt = False,
) -> None:
    """Export to a transformers folder: the `export` stage, or a given checkpoint to `--out`."""
    cfg = _load(config, work_dir)
    if checkpoint is None and out is None:
        return stage("export", config=config, work_dir=work_dir, source=None, force=force, set_=None)
    from train.export import export_checkpoint

    wd = Path(cfg.work_dir)
    try:
        paths = export_checkpoint(checkpoint or wd / "checkpoints", wd / "tokenizer", out or wd / "export" / "hf",
                                  dtype=dtype)
    except Exception as e:  # noqa: BLE001 - CheckpointError, missing tokenizer: say it and exit 1
        _fail(e)
    console.print(f"exported {len(paths)} files to {out or wd / 'export' / 'hf'}")


@app.command()
def generate(
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="The text to continue.")],
    config: ConfigOpt = DEFAULT_CONFIG,
    work_dir: WorkDirOpt = None,
    model: Annotated[Optional[Path], typer.Option(help="A checkpoint, checkpoints/ or an export folder "
                                                   "(default: export/hf if present, else checkpoints/).")] = None,
    max_new_tokens: int = 100,
    temperature: float = 0.8,
    top_k: int = 50,
    top_p: float = 0.95,
    seed: int = 0,
) -> None:
    """Sample a continuation of `--prompt` from a checkpoint or an export."""
    from train.generate import generate as gen

    cfg = _load(config, work_dir)
    wd = Path(cfg.work_dir)
    src = model or (wd / "export" / "hf" if (wd / "export" / "hf" / "config.json").exists() else wd / "checkpoints")
    try:
        text = gen(src, prompt, max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k,
                   top_p=top_p, seed=seed, tokenizer_dir=wd / "tokenizer")
    except Exception as e:  # noqa: BLE001
        _fail(e)
    typer.echo(text)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
