"""The eval stage: our export and a model from elsewhere (a tiny random `LlamaForCausalLM` with a
tokenizer of its own) on the same text, side by side; the export's bits per byte are the train
stage's own; a model added later is the only one scored again; the model card parses and holds
the manifests' numbers."""

from __future__ import annotations

import json

import pytest
from config_sections import sections
from tiny_llama import tiny_llama
from train_fixtures import build_tokenizer

from kuznia.driver import run_stage
from kuznia.stage import MANIFEST
from train.eval_stage import EVAL, VAL
from train.stage import EXPORT, TRAIN

TRAIN_CFG = {"micro_batch_size": 2, "grad_accum_steps": 1, "max_steps": 12, "warmup_steps": 2, "lr": 1e-2,
             "min_lr": 1e-3, "device": "cpu", "dtype": "float32", "eval_every_steps": 6,
             "eval_bytes_per_source": 300, "checkpoint_every_steps": 6, "log_every_steps": 6,
             "report": False, "sample_prompts": []}


def foreign_model(path, seed: int = 0):
    """A tiny random LlamaForCausalLM with a tokenizer of its own (smaller than ours)."""
    return tiny_llama(path, build_tokenizer(path.parent / f"{path.name}-tokenizer", vocab_size=300), seed)


@pytest.fixture
def run(sourced_tokens, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    wd = sourced_tokens[0]
    for name in ("tokens", "tokenizer"):  # what the real stages' manifests would say
        m = json.loads((wd / name / MANIFEST).read_text())
        (wd / name / MANIFEST).write_text(json.dumps({**m, "outputs": m.get("outputs", [])}))
    return wd


def test_export_and_a_foreign_model_side_by_side(run, tmp_path):
    from huggingface_hub import ModelCard

    wd = run
    text = tmp_path / "extra.txt"
    text.write_text("Zażółć gęślą jaźń. " * 40, "utf-8")
    cfg = sections(seed=3, model={"preset": "tiny"}, train=TRAIN_CFG, export={"dtype": "float32"},
                   eval={"models": [str(foreign_model(tmp_path / "tiny-llama"))], "text_files": [str(text)],
                         "batch_tokens": 256})
    trained = run_stage(TRAIN, cfg, wd, log=lambda m: None).manifest
    run_stage(EXPORT, cfg, wd, log=lambda m: None)
    res = run_stage(EVAL, cfg, wd, log=lambda m: None).manifest["results"]
    assert [m["name"] for m in res["models"]] == ["this run (export)", "tiny-llama"]
    export, foreign = res["models"]
    # the export, loaded by transformers, scores the val text as the train stage did
    assert export["sets"][VAL]["bpb"] == pytest.approx(trained["eval"]["val_bpb"], abs=1e-4)
    for source, figures in trained["eval"]["val_sources"].items():
        assert export["sets"][f"val: {source}"]["bpb"] == pytest.approx(figures["bpb"], abs=1e-4)
    # the same bytes for both models, other tokens (another tokenizer)
    for s in (VAL, "val: wiki", "file: extra.txt"):
        assert export["sets"][s]["bytes"] == foreign["sets"][s]["bytes"] > 0
    assert export["sets"][VAL]["tokens"] != foreign["sets"][VAL]["tokens"]
    assert export["sets"]["file: extra.txt"]["bytes"] == 300  # eval.max_bytes defaults to the train budget
    assert "| val (all sources) |" in (wd / "eval" / "results.md").read_text()

    card = ModelCard.load(wd / "export" / "hf" / "README.md")
    assert card.data.language == ["pl"] and card.data.pipeline_tag == "text-generation"
    by_name = {r.dataset_name: r.metric_value for r in card.data.eval_results}
    assert by_name["Kuźnia val split: all sources"] == trained["eval"]["val_bpb"]
    for source, figures in trained["eval"]["val_sources"].items():
        assert by_name[f"Kuźnia val split: {source}"] == figures["bpb"]
    meta = card.data.to_dict()["kuznia"]
    assert (meta["training_steps"], meta["training_tokens"]) == (trained["final_step"], trained["tokens_seen"])

    # a model added later: only it is scored; the export's task is reused
    markers = wd / "eval" / "_tasks" / "score"
    before = {p.name: p.stat().st_mtime_ns for p in markers.iterdir()}
    cfg["eval"] = cfg["eval"].model_copy(update={"models": [*cfg["eval"].models,
                                                            str(foreign_model(tmp_path / "other", seed=1))]})
    again = run_stage(EVAL, cfg, wd, log=lambda m: None).manifest["results"]
    after = {p.name: p.stat().st_mtime_ns for p in markers.iterdir()}
    assert [m["name"] for m in again["models"]] == ["this run (export)", "tiny-llama", "other"]
    assert after["export.json"] == before["export.json"] and after["model-tiny-llama.json"] == before["model-tiny-llama.json"]
    assert again["models"][0] == export
