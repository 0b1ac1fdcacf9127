"""Train and export stages end to end on a tiny model; the export in transformers; generation."""

from __future__ import annotations

import json

import pytest
import torch
from config_sections import sections

from kuznia.driver import run_stage
from kuznia.stage import TaskError
from train.checkpoint import list_checkpoints, load_model
from train.export import export_checkpoint
from train.generate import generate, sample_next
from train.stage import EXPORT as EXPORT_SPEC
from train.stage import TRAIN as TRAIN_SPEC

TRAIN = {"micro_batch_size": 2, "grad_accum_steps": 1, "max_steps": 30, "warmup_steps": 3, "lr": 1e-2,
         "min_lr": 1e-3, "device": "cpu", "dtype": "float32", "eval_every_steps": 15, "eval_bytes_per_source": 200,
         "checkpoint_every_steps": 10, "log_every_steps": 10}


def _cfg(work, **export):
    return sections(seed=3, model={"preset": "tiny"}, train=TRAIN, export={"dtype": "float32", **export})


@pytest.fixture
def exported(text_work_dir):
    cfg = _cfg(text_work_dir)
    res = run_stage(TRAIN_SPEC, cfg, text_work_dir, log=lambda s: None)
    m = res.manifest
    assert (m["final_step"], m["counts"]["steps"], m["checkpoint"]) == (30, 30, "step-0000030")
    assert m["counts"]["tokens"] == 30 * 2 * 64
    assert [s for s, _ in m["losses"]] == [10, 15, 20, 30]  # log steps and eval steps
    assert m["losses"][-1][1] < m["losses"][0][1]
    assert [e["step"] for e in m["evals"]] == [15, 30] and m["eval"]["val_bpb"] > 0
    assert {o["path"] for o in m["outputs"]} >= {"step-0000030/model.pt", "step-0000030/COMPLETE", "metrics.jsonl"}
    again = run_stage(TRAIN_SPEC, cfg, text_work_dir, log=lambda s: None)
    assert again.skipped
    run_stage(EXPORT_SPEC, cfg, text_work_dir, log=lambda s: None)
    return text_work_dir


def test_export_loads_in_transformers_and_matches_our_logits(exported, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    hf_dir = exported / "export" / "hf"
    assert sorted(p.name for p in hf_dir.iterdir()) == [
        "README.md", "config.json", "generation_config.json", "model.safetensors", "special_tokens_map.json",
        "tokenizer.json", "tokenizer_config.json"]
    config = json.loads((hf_dir / "config.json").read_text())
    assert (config["architectures"], config["bos_token_id"], config["eos_token_id"], config["pad_token_id"]) == (
        ["LlamaForCausalLM"], 1, 2, 3)
    tokenizer = AutoTokenizer.from_pretrained(hf_dir)
    model = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32)
    assert type(model).__name__ == "LlamaForCausalLM" and tokenizer.eos_token_id == 2

    ours, _ = load_model(exported / "checkpoints")
    batch = tokenizer(["Polska jest krajem w Europie", "Wisła płynie przez Kraków"], return_tensors="pt",
                      padding=True)
    ids = torch.where(batch.attention_mask.bool(), batch.input_ids, torch.full_like(batch.input_ids, 2))
    with torch.no_grad():
        theirs = model(input_ids=ids).logits
        mine = ours(ids)
    assert theirs.shape == mine.shape
    assert (theirs - mine).abs().max().item() < 1e-4

    # As in APT3's model card.
    pipe = transformers.pipeline("text-generation", model=model, tokenizer=tokenizer)
    sequences = pipe(max_new_tokens=10, do_sample=True, top_k=50, eos_token_id=tokenizer.eos_token_id,
                     text_inputs="Polska jest")
    assert sequences[0]["generated_text"].startswith("Polska jest")


def test_generate_from_checkpoint_and_export_agree(exported):
    kw = dict(prompt="Polska jest", max_new_tokens=12, temperature=0.8, top_k=20, top_p=0.9, seed=5)
    a = generate(exported / "checkpoints", **kw)
    b = generate(exported / "checkpoints" / "step-0000030", **kw)
    c = generate(exported / "export" / "hf", **kw)
    assert a == b == c
    assert a.startswith("Polska jest") and len(a) > len("Polska jest")
    greedy = generate(exported / "export" / "hf", prompt="Wisła jest", max_new_tokens=12, temperature=0)
    assert greedy == generate(exported / "checkpoints", prompt="Wisła jest", max_new_tokens=12, temperature=0)


def test_sample_next_filters():
    g = torch.Generator().manual_seed(0)
    logits = torch.tensor([0.0, 5.0, 4.9, -1.0])
    assert sample_next(logits, temperature=0, top_k=None, top_p=None, generator=g) == 1
    assert {sample_next(logits, temperature=1.0, top_k=2, top_p=None, generator=g) for _ in range(50)} == {1, 2}
    assert {sample_next(logits, temperature=1.0, top_k=None, top_p=0.3, generator=g) for _ in range(20)} == {1}


def test_bf16_export_is_half_the_size(exported, tmp_path):
    out = tmp_path / "bf16"
    export_checkpoint(exported / "checkpoints", exported / "tokenizer", out, dtype="bfloat16")
    fp32 = (exported / "export" / "hf" / "model.safetensors").stat().st_size
    assert abs((out / "model.safetensors").stat().st_size * 2 - fp32) < 4096
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"


def test_export_refuses_a_tokenizer_of_another_vocabulary(exported, tmp_path):
    from train_fixtures import build_tokenizer

    other = build_tokenizer(tmp_path / "other", vocab_size=380)
    with pytest.raises(Exception, match=r"has a vocabulary of 400 but .*other/tokenizer.json has 380"):
        export_checkpoint(exported / "checkpoints", other, tmp_path / "out")
    with pytest.raises(Exception, match=r"no complete checkpoint for step 7 under .*there are steps \[10, 20, 30\]"):
        export_checkpoint(exported / "checkpoints", exported / "tokenizer", tmp_path / "out", step=7)


def test_train_stage_error_when_val_split_is_empty(text_work_dir):
    import shutil

    shutil.rmtree(text_work_dir / "tokens" / "val")
    with pytest.raises(TaskError, match=r"val split: .*tokens/val holds no token shards"):
        run_stage(TRAIN_SPEC, _cfg(text_work_dir), text_work_dir, log=lambda s: None)
    assert list_checkpoints(text_work_dir / "checkpoints") == []
