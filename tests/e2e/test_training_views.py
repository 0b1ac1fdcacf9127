"""What a demo run shows of its training, through the real CLI: TensorBoard events that
tensorboard's reader parses, bits per byte for every corpus source, a training report that renders
in Chromium, `kuznia eval` beside a model from elsewhere, and a model card with the manifests'
numbers. On the session's reference run (12 steps); `kuznia eval` on a copy of it."""

from __future__ import annotations

import json

import pytest
from browser_probe import load_probe, probe_script
from e2e_support import e2e_config, kuznia, manifest
from tiny_llama import tiny_llama

pytestmark = pytest.mark.slow


def test_events_report_and_per_source_bpb(reference, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    sources = sorted(manifest(reference, "corpus")["funnel"]["sources"])
    final = manifest(reference, "train")["eval"]
    assert sorted(final["val_sources"]) == sources and all(f["bpb"] > 0 for f in final["val_sources"].values())
    acc = EventAccumulator(str(reference / "checkpoints" / "tensorboard"), size_guidance={"scalars": 0})
    acc.Reload()
    tags = acc.Tags()["scalars"]
    logged = [json.loads(line)["step"] for line in (reference / "checkpoints" / "metrics.jsonl").read_text().splitlines()]
    assert [e.step for e in acc.Scalars("train/loss")] == logged == [6, 10, 12]  # logged every 10, evaluated every 6
    assert [e.step for e in acc.Scalars("val/bpb")] == [6, 12]
    assert acc.Scalars("val/bpb")[-1].value == pytest.approx(final["val_bpb"], rel=1e-6)
    assert sorted(t.split("/", 1)[1] for t in tags if t.startswith("val_bpb_by_source/")) == sources

    html = (reference / "checkpoints" / "report" / "report.html").read_text("utf-8")
    probe, console = load_probe(html, probe_script(), tmp_path)
    assert probe["errors"] == [] and console == []
    assert len(probe["charts"]) == html.count("<img") >= 4
    for c in probe["charts"]:
        assert c["complete"] and c["width"] > 100 and c["height"] > 100 and c["variance"] > 50, c
    assert probe["wide"] == [] and probe["page"]["scroll"] <= probe["page"]["width"], probe
    report = json.loads((reference / "checkpoints" / "report" / "report.json").read_text())
    assert sorted(report["evals"][-1]["val_sources"]) == sources and report["samples"]


def test_kuznia_eval_beside_a_tiny_llama_and_the_model_card(reference, copy_of, tmp_path):
    from huggingface_hub import DatasetCard, ModelCard

    wd = copy_of(reference)
    tiny = tiny_llama(tmp_path / "tiny-llama", wd / "tokenizer")  # random weights, our tokenizer
    cfg = e2e_config(tmp_path / "config.yaml")
    out = kuznia(["eval", "--config", str(cfg), "--work-dir", str(wd), "--model", str(tiny)], tmp_path).stdout
    rows = [line for line in out.splitlines() if line.startswith("│ this run (export)") or line.startswith("│ tiny-llama")]
    assert len(rows) == 2, out  # a row per model, with its parameters and bits per byte
    results = manifest(wd, "eval")["results"]
    train = manifest(wd, "train")
    export = results["models"][0]
    assert export["sets"]["val (all sources)"]["bpb"] == pytest.approx(train["eval"]["val_bpb"], abs=1e-4)
    for source, figures in train["eval"]["val_sources"].items():
        assert export["sets"][f"val: {source}"]["bpb"] == pytest.approx(figures["bpb"], abs=1e-4)
    report = json.loads((wd / "checkpoints" / "report" / "report.json").read_text())
    assert [m["name"] for m in report["comparison"]["models"]] == ["this run (export)", "tiny-llama"]

    card = ModelCard.load(wd / "export" / "hf" / "README.md")
    data = card.data.to_dict()
    corpus_sources = sorted(manifest(wd, "corpus")["funnel"]["sources"])
    assert data["language"] == ["pl"] and data["library_name"] == "transformers"
    assert data["kuznia"]["training_steps"] == train["final_step"] == 12
    assert data["kuznia"]["training_tokens"] == train["tokens_seen"]
    assert sorted(data["kuznia"]["source_licenses"]) == corpus_sources
    assert data["license"] == DatasetCard.load(wd / "corpus" / "README.md").data.license
    got = {r.dataset_config: r.metric_value for r in card.data.eval_results}
    assert got == {"all": train["eval"]["val_bpb"], **{s: f["bpb"] for s, f in train["eval"]["val_sources"].items()}}
