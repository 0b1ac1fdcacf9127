"""What a run records besides checkpoints: TensorBoard events that tensorboard's own reader parses,
one continuous curve across a resume after a crash (events, report, samples), the report's
numbers, and the run reporter hook (what `flows/` turns into Prefect artifacts)."""

from __future__ import annotations

import json
import shutil

import pytest
from train_fixtures import tiny_model, tiny_train

from kuznia.progress import reporting_to
from train.metrics import read_jsonl
from train.report.build import gather
from train.trainer import train


def _run(wd, ckpt, cfg, **kw):
    from tokenizers import Tokenizer

    tok_json = wd / "tokenizer" / "tokenizer.json"
    vocab = Tokenizer.from_file(str(tok_json)).get_vocab_size(with_added_tokens=True)
    return train(tiny_model(), cfg, tokens_dir=wd / "tokens", checkpoints_dir=ckpt, vocab_size=vocab, seed=1,
                 tokenizer_json=tok_json, log=kw.pop("log", lambda s: None), **kw)


def scalars(logdir) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of a TensorBoard log folder, read with tensorboard's own event reader."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0})
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


CFG = dict(max_steps=8, eval_every_steps=2, checkpoint_every_steps=4, log_every_steps=1,
           eval_bytes_per_source=300, sample_tokens=4, sample_prompts=["Polska jest", "Wisła"], report=True)


def test_events_hold_the_metrics_per_source(sourced_tokens, tmp_path):
    wd = sourced_tokens[0]
    _run(wd, tmp_path / "c", tiny_train(**CFG))
    records = read_jsonl(tmp_path / "c" / "metrics.jsonl")
    sc = scalars(tmp_path / "c" / "tensorboard")
    assert [s for s, _ in sc["train/loss"]] == list(range(1, 9))
    assert [v for _, v in sc["train/loss"]] == pytest.approx([r["loss"] for r in records], rel=1e-6)
    assert [s for s, _ in sc["val/bpb"]] == [2, 4, 6, 8]
    evals = [r for r in records if "val_loss" in r]
    for source in ("wiki", "forum"):  # every source of the val split, bits per byte at each evaluation
        got = sc[f"val_bpb_by_source/{source}"]
        assert [s for s, _ in got] == [r["step"] for r in evals]
        assert [v for _, v in got] == pytest.approx([r["val_sources"][source]["bpb"] for r in evals], rel=1e-6)
    assert {"train/lr", "train/grad_norm", "perf/tokens_per_s", "perf/memory_gib", "val/loss"} <= set(sc)


def test_resume_after_a_crash_keeps_one_continuous_curve(sourced_tokens, tmp_path):
    wd = sourced_tokens[0]
    straight = _run(wd, tmp_path / "a", tiny_train(**CFG))
    _run(wd, tmp_path / "b", tiny_train(**CFG), stop_at_step=7)
    shutil.rmtree(tmp_path / "b" / "step-0000007")  # a crash: steps 5-7 logged, last checkpoint at 4
    (tmp_path / "b" / "latest").write_text("step-0000004\n")
    resumed = _run(wd, tmp_path / "b", tiny_train(**CFG))
    assert resumed.resumed_from.name == "step-0000004"
    a, b = scalars(tmp_path / "a" / "tensorboard"), scalars(tmp_path / "b" / "tensorboard")
    assert [s for s, _ in b["train/loss"]] == list(range(1, 9))  # no step twice, none missing
    assert b["train/loss"] == a["train/loss"] and b["val/bpb"] == a["val/bpb"]  # exact resume
    report = gather(tmp_path / "b")
    assert report["curves"]["step"] == list(range(1, 9)) and [e["step"] for e in report["evals"]] == [2, 4, 6, 8]
    assert [s["step"] for s in report["samples"]] == [2, 4, 6, 8]
    assert report["samples"] == gather(tmp_path / "a")["samples"]  # the same seed: the same texts
    assert straight.last_eval == resumed.last_eval


class FakeReporter:
    def __init__(self):
        self.calls = []

    def progress(self, key, percent, description):
        self.calls.append(("progress", key, percent, description))

    def markdown(self, key, markdown, description):
        self.calls.append(("markdown", key, markdown))

    def table(self, key, rows, description):
        self.calls.append(("table", key, rows))


def test_reporter_gets_progress_and_each_evaluation(sourced_tokens, tmp_path):
    reporter, logs = FakeReporter(), []
    with reporting_to(reporter):
        _run(sourced_tokens[0], tmp_path / "c", tiny_train(**CFG), log=logs.append)
    progress = [c for c in reporter.calls if c[0] == "progress"]
    assert progress[-1][1:3] == ("train-progress", 100.0) and "step 8/8" in progress[-1][3]
    evals = [c for c in reporter.calls if c[0] == "markdown"]
    assert [c[1] for c in evals] == ["train-eval"] * 4 and "| wiki |" in evals[-1][2] and "**Wisła**" in evals[-1][2]
    tables = [c for c in reporter.calls if c[0] == "table"]
    assert [r["source"] for r in tables[-1][2]] == ["forum", "wiki"]
    assert any(line.startswith("logging and evaluation took") for line in logs)
    report = json.loads((tmp_path / "c" / "report" / "report.json").read_text())
    assert report["status"]["step"] == 8 and report["facts"]["val"]["no_val"] == ["manpages"]
    assert (tmp_path / "c" / "report" / "report.html").read_text().count("<img") >= 4
