"""Exact resume: straight vs stop + resume, SIGTERM, SIGKILL mid-save, and bad checkpoints."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from train_fixtures import HASH, VOCAB, tiny_model, tiny_train

from model.config import ModelSection
from train.checkpoint import CheckpointError, list_checkpoints
from train.trainer import train

ROOT = Path(__file__).resolve().parents[2]


def _run(tokens_dir, ckpt, cfg, **kw):
    return train(kw.pop("model", tiny_model()), cfg, tokens_dir=tokens_dir, checkpoints_dir=ckpt,
                 vocab_size=VOCAB, seed=1, tokenizer_hash=HASH, log=kw.pop("log", lambda s: None), **kw)


def _same_state(a: Path, b: Path) -> None:
    for name in ("model.pt", "optimizer.pt"):
        sa = torch.load(a / name, weights_only=True)
        sb = torch.load(b / name, weights_only=True)
        flat_a, flat_b = _flatten(sa), _flatten(sb)
        assert flat_a.keys() == flat_b.keys()
        for k in flat_a:
            if isinstance(flat_a[k], torch.Tensor):
                assert torch.equal(flat_a[k], flat_b[k]), f"{name}:{k}"
            else:
                assert flat_a[k] == flat_b[k], f"{name}:{k}"


def _flatten(obj, prefix=""):
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}/"))
        return out
    if isinstance(obj, list):
        return _flatten(dict(enumerate(obj)), prefix)
    return {prefix: obj}


def test_resume_is_bit_identical(tokens_dir, tmp_path):
    cfg = tiny_train(max_steps=8, checkpoint_every_steps=3)
    straight = _run(tokens_dir, tmp_path / "a", cfg)
    first = _run(tokens_dir, tmp_path / "b", cfg, stop_at_step=4)
    assert first.stopped_by == "stop_at_step" and first.checkpoint.name == "step-0000004"
    second = _run(tokens_dir, tmp_path / "b", cfg)
    assert second.resumed_from.name == "step-0000004" and second.stopped_by is None
    assert [s for s, _ in straight.losses] == list(range(1, 9))
    assert straight.losses == first.losses + second.losses  # exact floats, not approx
    assert straight.last_eval == second.last_eval
    _same_state(tmp_path / "a" / "step-0000008", tmp_path / "b" / "step-0000008")
    # keep_checkpoints=2 prunes; `latest` names the newest.
    assert [s for s, _ in list_checkpoints(tmp_path / "a")] == [6, 8]
    assert (tmp_path / "a" / "latest").read_text() == "step-0000008\n"
    # Metric lines past the resumed step were dropped, so each step is logged once.
    steps = [json.loads(ln)["step"] for ln in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 9))


def _script(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "run_train.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        sys.path[:0] = [{str(ROOT)!r}, {str(Path(__file__).parent)!r}]
        from train_fixtures import HASH, VOCAB, tiny_model, tiny_train
        from train.trainer import train
        tokens_dir, ckpt, marker = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    """) + textwrap.dedent(body))
    return script


def _wait_for(path: Path, proc: subprocess.Popen, timeout_s: float = 60) -> None:
    t0 = time.time()
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"child exited early: {proc.communicate()}")
        if time.time() - t0 > timeout_s:
            proc.kill()
            raise AssertionError("child never reached the marker")
        time.sleep(0.02)


def test_sigterm_saves_and_exits_cleanly(tokens_dir, tmp_path):
    script = _script(tmp_path, """
        def log(line):
            print(line, flush=True)
            if line.startswith("step 3/"):
                marker.touch()
        r = train(tiny_model(), tiny_train(max_steps=100000, grad_accum_steps=4, checkpoint_every_steps=1000,
                  eval_every_steps=0), tokens_dir=tokens_dir, checkpoints_dir=ckpt, vocab_size=VOCAB, seed=1,
                  tokenizer_hash=HASH, log=log)
        print("RESULT", r.stopped_by, r.step, r.checkpoint.name, flush=True)
    """)
    env = {**os.environ, "KUZNIA_PROGRESS": "0"}
    proc = subprocess.Popen([sys.executable, str(script), str(tokens_dir), str(tmp_path / "ckpt"),
                             str(tmp_path / "marker")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    _wait_for(tmp_path / "marker", proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    result = [ln for ln in out.splitlines() if ln.startswith("RESULT")][0].split()
    assert result[1] == "SIGTERM"
    step = int(result[2])
    assert step >= 3 and result[3] == f"step-{step:07d}"
    assert f"stopped by SIGTERM at step {step}; saved" in out
    assert [s for s, _ in list_checkpoints(tmp_path / "ckpt")] == [step]
    # Nothing lost or repeated: the step after the signal equals a straight run's.
    cfg = tiny_train(max_steps=100000, grad_accum_steps=4, checkpoint_every_steps=1000, eval_every_steps=0)
    resumed = _run(tokens_dir, tmp_path / "ckpt", cfg, stop_at_step=step + 1)
    straight = _run(tokens_dir, tmp_path / "straight", cfg, stop_at_step=step + 1)
    assert resumed.losses == straight.losses[-1:]


def test_sigkill_during_checkpoint_write_resumes_from_last_complete(tokens_dir, tmp_path):
    script = _script(tmp_path, """
        import torch, train.checkpoint as ck
        real_save = torch.save
        def slow_save(obj, f, *a, **k):
            real_save(obj, f, *a, **k)
            if "step-0000004" in str(f) and str(f).endswith("optimizer.pt"):
                marker.touch()
                time.sleep(120)  # killed here, half-way through writing step 4
        ck.torch.save = slow_save
        train(tiny_model(), tiny_train(max_steps=6), tokens_dir=tokens_dir, checkpoints_dir=ckpt,
              vocab_size=VOCAB, seed=1, tokenizer_hash=HASH, log=lambda s: None)
    """)
    proc = subprocess.Popen([sys.executable, str(script), str(tokens_dir), str(tmp_path / "ckpt"),
                             str(tmp_path / "marker")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(tmp_path / "marker", proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    left = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert "step-0000002" in left and any(n.startswith(".step-0000004.tmp-") for n in left)
    assert "step-0000004" not in left
    logs = []
    resumed = _run(tokens_dir, tmp_path / "ckpt", tiny_train(max_steps=6), log=logs.append)
    assert resumed.resumed_from.name == "step-0000002"
    assert any(line.startswith("removed an interrupted save") and ".step-0000004.tmp-" in line for line in logs)
    straight = _run(tokens_dir, tmp_path / "straight", tiny_train(max_steps=6))
    assert resumed.losses == straight.losses[2:]
    _same_state(tmp_path / "ckpt" / "step-0000006", tmp_path / "straight" / "step-0000006")


def test_step_folder_without_sentinel_is_never_resumed(tokens_dir, tmp_path):
    ckpt = tmp_path / "ckpt"
    _run(tokens_dir, ckpt, tiny_train(max_steps=6), stop_at_step=2)
    # A crash between writing files and the sentinel (or a copy that lost it).
    half = ckpt / "step-0000004"
    half.mkdir()
    (half / "model.pt").write_bytes(b"partial")
    logs = []
    r = _run(tokens_dir, ckpt, tiny_train(max_steps=6), stop_at_step=3, log=logs.append)
    assert r.resumed_from.name == "step-0000002" and not half.exists()
    kept = next((ckpt / "superseded").glob("*/step-0000004"))  # never deleted: set aside, with why
    assert (kept / "model.pt").read_bytes() == b"partial" and "no sentinel" in (kept.parent / "WHY").read_text()
    assert any("warning: checkpoint step-0000004 has no sentinel" in m for m in logs)
    with pytest.raises(CheckpointError, match=r"train.resume=.*step-0000009.: no such checkpoint folder; use `auto`, `no`, or one of \[.step-0000002., .step-0000003.\]"):
        _run(tokens_dir, ckpt, tiny_train(max_steps=6, resume=str(ckpt / "step-0000009")))
    half.mkdir()
    with pytest.raises(CheckpointError, match=r"step-0000004 has no COMPLETE sentinel"):
        _run(tokens_dir, ckpt, tiny_train(max_steps=6, resume=str(half)))


def test_a_checkpoint_of_another_shape_is_refused_with_must_and_set_aside_with_auto(tokens_dir, tmp_path):
    ckpt = tmp_path / "ckpt"
    _run(tokens_dir, ckpt, tiny_train(), stop_at_step=2)
    deeper = ModelSection(preset="tiny", n_layers=3)
    with pytest.raises(CheckpointError, match=r"train.resume=must: checkpoint .*step-0000002 has another model "
                                              r"shape \(n_layers 2 → 3\); use train.resume=auto"):
        _run(tokens_dir, ckpt, tiny_train(resume="must"), model=deeper)
    logs = []
    r = _run(tokens_dir, ckpt, tiny_train(max_steps=2), model=deeper, log=logs.append)
    assert r.resumed_from is None and r.superseded is not None and r.step == 2
    kept = r.superseded
    assert kept.parent == ckpt / "superseded" and (kept / "step-0000002" / "COMPLETE").exists()
    assert "has another model shape" in (kept / "WHY").read_text()
    assert (kept / "metrics.jsonl").exists()  # the old run's curve goes with its checkpoints
    assert any("set superseded/" in m and "aside (kept) and starting over" in m for m in logs)


def test_checkpoints_of_other_token_shards_are_set_aside(tokens_dir, tmp_path):
    ckpt = tmp_path / "ckpt"
    _run(tokens_dir, ckpt, tiny_train(), stop_at_step=2, data_id="a" * 32)
    r = _run(tokens_dir, ckpt, tiny_train(max_steps=2), data_id="b" * 32)
    assert r.resumed_from is None and "other token shards" in (r.superseded / "WHY").read_text()
    same = _run(tokens_dir, ckpt, tiny_train(max_steps=3), data_id="b" * 32)
    assert same.resumed_from is not None and same.superseded is None


def test_must_without_a_checkpoint_refuses_to_start(tokens_dir, tmp_path):
    with pytest.raises(CheckpointError, match="train.resume=must but .* holds no complete, undamaged checkpoint"):
        _run(tokens_dir, tmp_path / "ckpt", tiny_train(resume="must"))


def test_yaml_booleans_for_resume():
    assert tiny_train(resume=False).resume == "no"
    with pytest.raises(ValueError, match="true is not a resume mode"):
        tiny_train(resume=True)


def test_damaged_checkpoints_are_never_resumed(tokens_dir, tmp_path):
    ckpt = tmp_path / "ckpt"
    _run(tokens_dir, ckpt, tiny_train(max_steps=8, checkpoint_every_steps=2), stop_at_step=4)
    model_pt = ckpt / "step-0000004" / "model.pt"
    data = bytearray(model_pt.read_bytes())
    data[len(data) // 2: len(data) // 2 + 4096] = bytes(4096)  # same size, other bytes
    model_pt.write_bytes(bytes(data))
    logs = []
    r = _run(tokens_dir, ckpt, tiny_train(max_steps=8, checkpoint_every_steps=2), stop_at_step=5, log=logs.append)
    assert r.resumed_from.name == "step-0000002"  # the damaged step 4 was not loaded
    assert any("checkpoint step-0000004 is damaged" in m and "other bytes than were saved" in m for m in logs)
    kept = next((ckpt / "superseded").glob("*/step-0000004"))
    assert (kept / "model.pt").read_bytes() == bytes(data)  # kept as it was, for a look
    straight = _run(tokens_dir, tmp_path / "straight", tiny_train(max_steps=8, checkpoint_every_steps=2),
                    stop_at_step=5)
    assert r.losses == straight.losses[2:]  # steps 3-5 again, exactly
    # a truncated file is caught by size, and an explicit resume path refuses it
    shutil.copytree(kept, ckpt / "step-0000009", dirs_exist_ok=True)
    (ckpt / "step-0000009" / "rng.pt").write_bytes(b"x")
    with pytest.raises(CheckpointError, match=r"rng.pt has 1 bytes but was saved with .* \(truncated or altered\)"):
        _run(tokens_dir, ckpt, tiny_train(max_steps=8, resume=str(ckpt / "step-0000009")))


def test_resume_no_starts_over(tokens_dir, tmp_path):
    ckpt = tmp_path / "ckpt"
    a = _run(tokens_dir, ckpt, tiny_train(max_steps=4))
    logs = []
    b = _run(tokens_dir, ckpt, tiny_train(max_steps=4, resume="no"), log=logs.append)
    assert b.resumed_from is None and a.losses == b.losses
    assert f"train.resume=no: deleting 2 checkpoint(s) under {ckpt}" in logs
