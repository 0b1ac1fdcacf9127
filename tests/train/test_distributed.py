"""Training on several processes through torchrun (gloo on CPU, the tiny model): the same losses and
the same windows as one process with the same global batch, checkpoints any world size resumes,
a killed rank, and SIGTERM.

Tolerance: losses agree to 1e-5 relative (float32; DDP averages gradients in another summation
order than one process' accumulation); the data position is exact.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest
from train_fixtures import HASH, VOCAB, pattern_docs, tiny_model, tiny_train, write_split

from train.checkpoint import list_checkpoints, read_meta
from train.launch import TrainingFailed, train_processes
from train.trainer import train

ROOT = Path(__file__).resolve().parents[2]
TOL = 1e-5
STEPS = 6


def _cfg(**kw):
    return tiny_train(**{"max_steps": STEPS, "grad_accum_steps": 4, "checkpoint_every_steps": 3, "eval_every_steps": 3,
                         "trace_windows": True, "tensorboard": False, **kw})


def _run(tokens_dir, ckpt, cfg, stop_at_step=None, log=lambda s: None):
    run = train if cfg.world_size == 1 else train_processes
    return run(tiny_model(), cfg, tokens_dir=tokens_dir, checkpoints_dir=ckpt, vocab_size=VOCAB, seed=1,
               tokenizer_hash=HASH, stop_at_step=stop_at_step, log=log)


def _windows(ckpt: Path) -> dict[int, list[int]]:
    """The windows each step trained on, in the order one process would read them: micro batch by
    micro batch, each global micro batch rank by rank (the last record of a step wins)."""
    seen: dict[tuple[int, int, int], list[int]] = {}
    for f in (ckpt / "trace").glob("windows-rank*.jsonl"):
        rank = int(f.stem.removeprefix("windows-rank"))
        for line in f.read_text().splitlines():
            r = json.loads(line)
            seen[(r["step"], r["micro"], rank)] = r["windows"]
    steps: dict[int, list[int]] = {}
    for step, micro, rank in sorted(seen):
        steps.setdefault(step, []).extend(seen[(step, micro, rank)])
    return steps


def _close(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> None:
    assert [s for s, _ in a] == [s for s, _ in b]
    for (s, x), (_, y) in zip(a, b):
        assert abs(x - y) <= TOL * abs(y), f"step {s}: {x} vs {y}"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One process, global batch 2 x 4, six steps straight."""
    d = tmp_path_factory.mktemp("ref")
    write_split(d / "tokens" / "train", pattern_docs(150, seed=0), shard_tokens=2500)
    write_split(d / "tokens" / "val", pattern_docs(12, seed=1))
    r = _run(d / "tokens", d / "ckpt", _cfg())
    return d / "tokens", r, _windows(d / "ckpt")


def test_two_processes_match_one_with_the_same_global_batch(reference, tmp_path):
    tokens, ref, ref_windows = reference
    r = _run(tokens, tmp_path / "ckpt", _cfg(devices=2))
    _close(r.losses, ref.losses)
    assert _windows(tmp_path / "ckpt") == ref_windows  # the same windows, in the same order
    assert r.last_eval["val_loss"] == pytest.approx(ref.last_eval["val_loss"], rel=TOL)
    assert read_meta(r.checkpoint)["data"] == read_meta(ref.checkpoint)["data"]


@pytest.mark.parametrize("first,then", [(2, 1), (1, 2), (2, 4)])
def test_a_checkpoint_saved_on_n_processes_resumes_on_m(reference, tmp_path, first, then):
    tokens, ref, ref_windows = reference
    ckpt = tmp_path / "ckpt"
    half = _run(tokens, ckpt, _cfg(devices=first), stop_at_step=3)
    assert half.step == 3
    rest = _run(tokens, ckpt, _cfg(devices=then))
    assert rest.resumed_from is not None and rest.resumed_from.name == "step-0000003"
    _close(half.losses + rest.losses, ref.losses)
    assert read_meta(rest.checkpoint)["data"] == read_meta(ref.checkpoint)["data"]  # the exact position
    assert _windows(ckpt) == ref_windows


def test_fsdp_matches_one_process_and_its_checkpoint_resumes_on_one(reference, tmp_path):
    tokens, ref, _ = reference
    ckpt = tmp_path / "ckpt"
    half = _run(tokens, ckpt, _cfg(devices=2, parallel="fsdp"), stop_at_step=3)
    rest = _run(tokens, ckpt, _cfg())
    _close(half.losses + rest.losses, ref.losses)


def _workers(parent: psutil.Process) -> list[psutil.Process]:
    return [p for p in parent.children(recursive=True) if "train.worker" in " ".join(p.cmdline())]


def test_a_killed_rank_stops_every_process_and_the_rerun_resumes(reference, tmp_path):
    tokens, _, _ = reference
    ckpt = tmp_path / "ckpt"
    cfg = _cfg(devices=2, max_steps=100000, checkpoint_every_steps=2, eval_every_steps=0)
    box: dict = {}

    def run():
        try:
            _run(tokens, ckpt, cfg)
        except TrainingFailed as e:
            box["error"] = e

    t = threading.Thread(target=run)
    t.start()
    deadline = time.monotonic() + 120
    while not list_checkpoints(ckpt) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list_checkpoints(ckpt), "no checkpoint within 120 s"
    workers = _workers(psutil.Process())
    victim = next(w for w in workers if w.environ().get("RANK") == "1")
    victim.kill()
    killed = time.monotonic()
    t.join(timeout=90)
    assert not t.is_alive() and time.monotonic() - killed < 60
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
    message = str(box["error"])
    assert "rank 1 was killed by SIGKILL" in message and "run `kuznia stage train` again" in message
    last = list_checkpoints(ckpt)[-1][0]
    again = _run(tokens, ckpt, _cfg(devices=2, max_steps=last + 2, checkpoint_every_steps=2, eval_every_steps=0))
    assert again.resumed_from.name == f"step-{last:07d}" and again.step == last + 2


def test_sigterm_to_the_launching_process_saves_and_stops(reference, tmp_path):
    tokens, _, _ = reference
    ckpt = tmp_path / "ckpt"
    script = textwrap.dedent(f"""
        import sys, json
        sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "tests" / "train")!r}]
        from train_fixtures import HASH, VOCAB, pattern_docs, tiny_model, tiny_train, write_split
        from train.launch import train_processes
        cfg = tiny_train(devices=2, grad_accum_steps=4, max_steps=100000, checkpoint_every_steps=1000,
                         eval_every_steps=0, tensorboard=False)
        r = train_processes(tiny_model(), cfg, tokens_dir={str(tokens)!r}, checkpoints_dir={str(ckpt)!r},
                            vocab_size=VOCAB, seed=1, tokenizer_hash=HASH)
        print(json.dumps({{"stopped_by": r.stopped_by, "step": r.step}}))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        metrics = ckpt / "metrics.jsonl"
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 2:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    result = json.loads(out.strip().splitlines()[-1])
    assert result["stopped_by"] == "SIGTERM" and result["step"] >= 2
    assert list_checkpoints(ckpt)[-1][0] == result["step"]


def test_the_global_batch_must_split_evenly():
    with pytest.raises(ValueError, match="not a multiple of the 4 processes"):
        tiny_train(devices=2, nodes=2, grad_accum_steps=6)
    assert os.environ.get("WORLD_SIZE") is None


def test_two_nodes_meet_at_the_rendezvous_and_train_as_one_process(reference, tmp_path):
    """Two 'nodes' on this machine, one process each, meeting at a c10d rendezvous: node 0 as the
    train stage runs it, node 1 as `kuznia train-node` does."""
    import socket

    tokens, ref, ref_windows = reference
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    common = {"nodes": 2, "rdzv_endpoint": f"127.0.0.1:{port}", "rdzv_id": "test-two-nodes"}
    box: dict = {}

    def node(rank: int) -> None:
        box[rank] = _run(tokens, tmp_path / "ckpt", _cfg(node_rank=rank, **common))

    other = threading.Thread(target=node, args=(1,))
    other.start()
    node(0)
    other.join(timeout=120)
    _close(box[0].losses, ref.losses)
    assert _windows(tmp_path / "ckpt") == ref_windows
