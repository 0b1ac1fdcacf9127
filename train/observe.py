"""Everything a run records and shows besides its checkpoints, in one place the trainer calls.

After each step the trainer hands over a metrics record (or none); `RunObserver` appends it to
`metrics.jsonl`, shows it (bar or log line, with the time left), adds it to the TensorBoard events,
and reports progress to the run reporter (Prefect artifacts, when `flows/` registered one). At an
evaluation it also samples the fixed prompts, rewrites the training report, and publishes the
per-source figures. It keeps the time all this takes (evaluations included, via `timed`), which
the run's last log line and `bench/train_observe.py` report against the training time.

The report is rewritten at an evaluation unless that would make it cost more than
`REPORT_SHARE` of the run's time (each build is timed): in a real run evaluations are hours
apart and every one rewrites it; in the two-minute CPU demo it is written at the end. It is always
written when the run stops, and `kuznia report` rebuilds it at any time.

Files: `metrics.jsonl`, `samples.jsonl`, `run.json` (the run's fixed facts: model, recipe, val
set) go wherever the checkpoints go (set aside or deleted with them: `RUN_FILES`); `tensorboard/`
and `report/` are rebuilt from them, so a fresh start removes them and a set-aside run takes
them along.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from kuznia.files import write_json_atomic
from kuznia.htmlpage import markdown_table
from kuznia.progress import RunReporter, duration_text, run_reporter
from model.flops import count_non_embedding_parameters, count_parameters, flops_per_token
from train.config import TrainConfig
from train.metrics import METRICS, MetricsLog
from train.report.build import REPORT_DIR, RUN, build_training_report
from train.samples import SAMPLES, SampleLog
from train.tensorboard import EVENTS_DIR, TensorBoardLog

RUN_FILES = (METRICS, SAMPLES, RUN)  # what `prepare_resume` moves or deletes with the checkpoints
PROGRESS_EVERY_S = 10.0  # the progress artifact is an API call: not more often than this
REPORT_SHARE = 0.0025  # of the run's wall time, at most, spent rewriting the report
REPORT_COST_GUESS_S = 0.5  # a build's time before the first one was measured


def run_facts(trainer) -> dict:
    """What does not change during a run (`run.json`): the model and its cost, the recipe, the
    device, the data and the val set."""
    args, val = trainer.args, trainer.valset
    per_source: dict[str, dict] = {}
    for t, ids in zip(val.texts, val.ids):
        f = per_source.setdefault(t.source, {"texts": 0, "bytes": 0, "tokens": 0})
        f["texts"] += 1
        f["bytes"] += t.n_bytes or 0
        f["tokens"] += int(ids.size)
    device = trainer.device
    return {"model": args.to_dict(), "parameters": count_parameters(args),
            "non_embedding_parameters": count_non_embedding_parameters(args),
            "flops_per_token": flops_per_token(args), "tokens_per_step": trainer.tokens_per_step,
            "train": trainer.cfg.model_dump(mode="json"), "seed": trainer.seed,
            "device": str(device), "device_name": torch.cuda.get_device_name(device) if device.type == "cuda"
            else "CPU", "peak_flops": trainer.peak, "train_tokens": trainer.loader.stream.n_tokens,
            "tokenizer_hash": trainer.tokenizer_hash, "data_id": trainer.data_id,
            "val": {"sources": per_source, "no_val": val.no_val, "bytes_per_source": trainer.cfg.eval_bytes_per_source}}


def settle_views(root: Path, *, resumed: bool, superseded: Path | None) -> None:
    """The event files and report of an earlier run: taken along when its checkpoints were set
    aside, removed when this run starts over (they are rebuilt from the run's own files)."""
    for name in (EVENTS_DIR, REPORT_DIR):
        old = Path(root) / name
        if not old.exists() or resumed:
            continue
        if superseded is not None:
            os.replace(old, superseded / name)
        else:
            shutil.rmtree(old)


class RunObserver:
    """The run's metrics, bar, events, samples, report and reporter (see the module docstring)."""

    def __init__(self, root: Path, cfg: TrainConfig, *, resumed_step: int, facts: dict,
                 tokenizer_json: Path | None, log: Callable[[str], None] = print):
        t0 = time.perf_counter()
        self.root, self.cfg, self.log = Path(root), cfg, log
        write_json_atomic(self.root / RUN, facts)
        self.metrics = MetricsLog(self.root, resumed_step=resumed_step, max_steps=cfg.max_steps, log=log)
        self.samples = SampleLog(self.root, resumed_step=resumed_step, tokenizer_json=tokenizer_json,
                                 prompts=cfg.sample_prompts, max_new_tokens=cfg.sample_tokens)
        self.tb = TensorBoardLog.open(self.root, self.metrics.records, log) if cfg.tensorboard else None
        self.reporter: RunReporter | None = run_reporter()
        self._last_progress = -PROGRESS_EVERY_S
        self._unreported = False
        self._last_report, self._report_cost = time.monotonic(), REPORT_COST_GUESS_S
        self.overhead_s = time.perf_counter() - t0

    @contextlib.contextmanager
    def timed(self) -> Iterator[None]:
        """Count the block (an evaluation) as time spent observing the run."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.overhead_s += time.perf_counter() - t0

    def step_done(self, record: dict | None, model: torch.nn.Module) -> None:
        """After a step: its record (a logged step, an evaluation, or both), or a tick."""
        with self.timed():
            if record is None:
                self.metrics.tick()
                return
            record = self.metrics.write(record)
            self._unreported = True
            if self.tb is not None:
                self.tb.write(record)
            evaluated = record.get("val_loss") is not None
            if evaluated:
                self._evaluated(model, record)
            self._progress(record, force=evaluated or record["step"] >= self.cfg.max_steps)

    def _evaluated(self, model: torch.nn.Module, record: dict) -> None:
        samples = self.samples.sample(model, record["step"])
        if (time.monotonic() - self._last_report) * REPORT_SHARE >= self._report_cost:
            self.write_report()
        if self.reporter is not None:
            self._publish(lambda r: r.markdown("train-eval", eval_markdown(record, samples),
                                               f"evaluation at step {record['step']}"))
            rows = [{"source": s, **{k: f[k] for k in ("bpb", "loss", "tokens", "bytes")}}
                    for s, f in sorted((record.get("val_sources") or {}).items())]
            if rows:
                self._publish(lambda r: r.table("train-eval-sources", rows, "val bits per byte per source"))

    def write_report(self) -> None:
        """Rewrite the training report (`report/report.html`); a failure is logged, never fatal."""
        if not self.cfg.report:
            return
        t0 = time.monotonic()
        try:
            build_training_report(self.root)
            self._unreported = False
            self._last_report, self._report_cost = time.monotonic(), time.monotonic() - t0
        except Exception as e:  # noqa: BLE001 - the report must never stop training
            self.log(f"training report not written: {type(e).__name__}: {e}")

    def _progress(self, record: dict, force: bool) -> None:
        now = time.monotonic()
        if self.reporter is None or (not force and now - self._last_progress < PROGRESS_EVERY_S):
            return
        self._last_progress = now
        text = " · ".join(f"{k} {v}" for k, v in self.metrics.summary(record).items())
        percent = 100.0 * record["step"] / self.cfg.max_steps
        self._publish(lambda r: r.progress("train-progress", percent, f"step {record['step']}/"
                                           f"{self.cfg.max_steps} · {text}"))

    def _publish(self, call: Callable[[RunReporter], None]) -> None:
        """A reporter call that cannot stop training: a failure turns the reporter off, once."""
        try:
            call(self.reporter)
        except Exception as e:  # noqa: BLE001
            self.log(f"run reporter failed ({type(e).__name__}: {e}); not reporting the rest of this run")
            self.reporter = None

    def close(self, train_s: float) -> None:
        """Flush everything; the report once more if records came after the last one; one line
        saying what observing the run cost against `train_s`, the steps' own time."""
        with self.timed():
            if self._unreported:
                self.write_report()
            self.metrics.close()
            if self.tb is not None:
                self.tb.close()
        if train_s > 0:
            self.log(f"logging and evaluation took {duration_text(self.overhead_s)} "
                     f"({100 * self.overhead_s / train_s:.2f} % of the {duration_text(train_s)} of training steps)")


class FollowerObserver:
    """A process other than rank 0 writes and shows nothing; under FSDP it still samples at each
    evaluation, since every forward of a sharded model gathers weights from every process."""

    def __init__(self, cfg: TrainConfig, *, tokenizer_json: Path | None, sharded: bool):
        self.overhead_s = 0.0
        self.samples = SampleLog(None, resumed_step=0, tokenizer_json=tokenizer_json, prompts=cfg.sample_prompts,
                                 max_new_tokens=cfg.sample_tokens) if sharded else None

    timed = RunObserver.timed

    def step_done(self, record: dict | None, model: torch.nn.Module) -> None:
        if self.samples is not None and record and record.get("val_loss") is not None:
            self.samples.sample(model, record["step"])

    def close(self, train_s: float) -> None:
        pass


def eval_markdown(record: dict, samples: list[dict]) -> str:
    """An evaluation as markdown: the figures, the per-source table, the samples."""
    bpb = f", bits per byte {record['val_bpb']:.4f}" if record.get("val_bpb") is not None else ""
    lines = [f"## Step {record['step']:,}: val loss {record['val_loss']:.4f}{bpb}", ""]
    sources = record.get("val_sources") or {}
    if sources:
        lines.append(markdown_table(["source", "bits per byte", "loss", "tokens", "bytes"],
                                    [[s, f["bpb"], f["loss"], f["tokens"], f["bytes"]] for s, f in sorted(sources.items())]))
    for s in samples:
        lines += ["", f"**{s['prompt']}** → {s['text'][len(s['prompt']):].strip()}"]
    return "\n".join(lines) + "\n"
