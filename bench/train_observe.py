"""What watching a run costs: the demo's training with and without its logging and per-source eval.

    .venv/bin/python bench/train_observe.py [--work-dir work/demo] [--steps 150] [--repeats 3]

Needs the demo's `tokens/` and `tokenizer/` (`make demo`, or `kuznia run --stages fetch-tokens`).
Runs in one process, alternating: the demo's train config as it is (metrics, progress line,
TensorBoard events, per-source val bits per byte and samples at every `eval_every_steps`, the
training report), and the same run with all of that off (`eval_every_steps: 0`, no events, report
or samples). Both stop at `--steps` with `max_steps` one past it, so neither evaluates at the end,
and both save the same checkpoints. Prints the median wall time of `fit` of each, their ratio,
the run's own account (time spent observing / time of the steps, as the trainer logs it), and what
one evaluation's parts cost. No Prefect reporter is attached (its calls are API requests a few
per evaluation; `flows/` throttles progress to one per 10 s).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows.config import load_config  # noqa: E402
from kuznia.stage import MANIFEST  # noqa: E402
from train.stage import tokens_info  # noqa: E402
from train.trainer import Trainer  # noqa: E402

OFF = {"eval_every_steps": 0, "tensorboard": False, "report": False, "sample_prompts": []}


def trainer(cfg, work_dir: Path, ckpt: Path, steps: int, off: bool) -> Trainer:
    train_cfg = cfg.train.model_copy(update={"max_steps": steps + 1, "resume": "no", **(OFF if off else {})})
    vocab, tok_hash, tok_json, data_id = tokens_info(work_dir / "tokens", work_dir / "tokenizer")
    return Trainer(cfg.model, train_cfg, tokens_dir=work_dir / "tokens", checkpoints_dir=ckpt, vocab_size=vocab,
                   seed=cfg.seed, tokenizer_hash=tok_hash, tokenizer_json=tok_json, data_id=data_id,
                   log=lambda s: None)


def timed_fit(cfg, work_dir: Path, steps: int, off: bool) -> tuple[float, float, float]:
    """(wall seconds of `fit`, seconds of the steps, seconds spent observing)."""
    with tempfile.TemporaryDirectory() as tmp:
        t = trainer(cfg, work_dir, Path(tmp), steps, off)
        t0 = time.perf_counter()
        r = t.fit(stop_at_step=steps)
        return time.perf_counter() - t0, r.train_seconds, r.observe_seconds


def parts(cfg, work_dir: Path, repeats: int = 3) -> dict[str, float]:
    """Median seconds of one evaluation's parts, on a fresh model of the demo's shape."""
    from train.observe import RunObserver, run_facts
    from train.report.build import build_training_report

    with tempfile.TemporaryDirectory() as tmp:
        t = trainer(cfg, work_dir, Path(tmp), 10, off=False)
        t.fit(stop_at_step=10)  # a run to report on
        obs = RunObserver(t.root, t.cfg, resumed_step=10, facts=run_facts(t), tokenizer_json=t.tokenizer_json,
                          log=lambda s: None)
        record = {**t._step_record(1.0, 1.0, 1e-3, 1000.0), **t.evaluate()}
        out = {}
        for name, fn in (("per-source eval", t.evaluate), ("samples", lambda: obs.samples.sample(t.model, 10)),
                         ("report", lambda: build_training_report(t.root)),
                         ("metrics + events, one record", lambda: (obs.metrics.write(record), obs.tb.write(record)))):
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            out[name] = statistics.median(times)
        obs.close(0.0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=str(ROOT / "configs" / "demo.yaml"))
    ap.add_argument("--work-dir", default=str(ROOT / "work" / "demo"))
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    wd = Path(args.work_dir)
    if not (wd / "tokens" / MANIFEST).exists():
        sys.exit(f"{wd / 'tokens'} has no manifest: run `make demo` (or `kuznia run --stages fetch-tokens "
                 f"--work-dir {wd}`) first")
    cfg = load_config(args.config, work_dir=str(wd))
    every = cfg.train.eval_every_steps
    print(f"train_observe: {cfg.name}, {args.steps} steps, eval every {every} steps, {args.repeats} repeats "
          f"(alternating), {cfg.train.eval_bytes_per_source:,} val bytes per source")
    timed_fit(cfg, wd, min(10, args.steps), off=True)  # warm-up: imports, allocator, caches
    off, on, account = [], [], []
    for _ in range(args.repeats):
        off.append(timed_fit(cfg, wd, args.steps, off=True)[0])
        wall, train_s, observe_s = timed_fit(cfg, wd, args.steps, off=False)
        on.append(wall)
        account.append(observe_s / train_s)
    base, ours = statistics.median(off), statistics.median(on)
    print(f"  without logging and eval: {base:7.2f} s  (runs: {', '.join(f'{x:.1f}' for x in off)})")
    print(f"  with (the demo's config): {ours:7.2f} s  (runs: {', '.join(f'{x:.1f}' for x in on)})")
    print(f"  ratio with / without:     {ours / base:7.4f}  ({100 * (ours / base - 1):+.2f} % end to end)")
    print(f"  the run's own account:    {100 * statistics.median(account):.2f} % of the steps' time spent "
          f"observing (runs: {', '.join(f'{100 * a:.2f}' for a in account)} %)")
    step_s = base / args.steps
    for name, s in parts(cfg, wd).items():
        share = f"{100 * s / (every * step_s):.2f} % of an eval interval" if every else ""
        print(f"  {name:30s} {1000 * s:8.1f} ms  {share}")


if __name__ == "__main__":
    main()
