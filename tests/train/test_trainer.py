"""The loop's behaviour: the loss falls, memory savers keep the numbers, decay on matrices only."""

from __future__ import annotations

import math

import pytest
import torch
from train_fixtures import HASH, VOCAB, tiny_model, tiny_train

from model.config import PRESETS
from model.llama import Llama
from train.config import TrainConfig
from train.trainer import param_groups, resolve_device, train


def _train(tokens_dir, ckpt, cfg):
    return train(tiny_model(), cfg, tokens_dir=tokens_dir, checkpoints_dir=ckpt, vocab_size=VOCAB, seed=1,
                 tokenizer_hash=HASH, log=lambda s: None)


def test_loss_falls_on_repeated_pattern(tokens_dir, tmp_path):
    r = _train(tokens_dir, tmp_path / "c", tiny_train(max_steps=40, warmup_steps=4, lr=1e-2, min_lr=1e-3,
                                                      micro_batch_size=4, grad_accum_steps=1,
                                                      eval_every_steps=0, checkpoint_every_steps=100))
    first, last = r.losses[0][1], r.losses[-1][1]
    assert first == pytest.approx(math.log(VOCAB), abs=0.3)  # starts near uniform
    assert last < 0.5 * first
    assert r.last_eval["val_loss"] < 0.5 * first and r.last_eval["val_bpb"] is None  # no tokenizer given
    assert r.last_eval["val_ppl"] == pytest.approx(math.exp(r.last_eval["val_loss"]), rel=1e-4)


def test_memory_savers_keep_the_losses(tokens_dir, tmp_path):
    plain = _train(tokens_dir, tmp_path / "a", tiny_train(max_steps=3))
    saver = _train(tokens_dir, tmp_path / "b", tiny_train(max_steps=3, activation_checkpointing="mlp",
                                                          loss_chunk_tokens=50))
    for (s1, l1), (s2, l2) in zip(plain.losses, saver.losses):
        assert s1 == s2 and l1 == pytest.approx(l2, abs=1e-5)


def test_bf16_autocast_runs_on_cpu(tokens_dir, tmp_path):
    r = _train(tokens_dir, tmp_path / "c", tiny_train(max_steps=2, dtype="bfloat16"))
    assert len(r.losses) == 2 and all(math.isfinite(v) for _, v in r.losses)
    state = torch.load(r.checkpoint / "model.pt", weights_only=True)
    assert all(v.dtype == torch.float32 for v in state.values())  # fp32 master weights


def test_weight_decay_on_matrices_only():
    model = Llama(PRESETS["tiny"])
    decay, no_decay = param_groups(model, 0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim == 2 for p in decay["params"]) and all(p.ndim == 1 for p in no_decay["params"])
    assert len(no_decay["params"]) == 2 * 2 + 1  # two norms per block + the final norm


def test_config_checks():
    with pytest.raises(ValueError, match=r"train.warmup_steps \(10\) exceeds train.max_steps \(5\)"):
        TrainConfig(max_steps=5, warmup_steps=10)
    with pytest.raises(ValueError, match=r"train.min_lr \(0.1\) exceeds train.lr \(0.01\)"):
        TrainConfig(lr=0.01, min_lr=0.1)
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="train.device=cuda but no CUDA GPU is visible"):
            resolve_device("cuda")
    assert resolve_device("cpu").type == "cpu"
