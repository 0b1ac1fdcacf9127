"""Reruns a user can trust, through the real CLI: a threshold change re-runs corpus and every
stage after it, training included (the old checkpoints set aside, kept); a forced re-do of one
source's cleaning re-does that source's share downstream and nothing else; `status` says what
is stale and why."""

from __future__ import annotations

import json

import pytest
import torch
from e2e_support import e2e_config, kuznia, manifest, markers
from safetensors.torch import load_file

from kuznia.registry import folder
from kuznia.stage import MANIFEST
from train.checkpoint import latest_checkpoint, load_model

pytestmark = pytest.mark.slow
UPSTREAM = ["fetch", "docs", "clean", "quality", "dedup"]
DOWNSTREAM = ["corpus", "tokenizer", "tokens", "train", "export"]
SOURCE = "speakleash.fortunes_pl"


def test_threshold_change_reruns_selection_and_everything_after_it(reference, copy_of, tmp_path):
    wd = copy_of(reference)
    before = {s: (wd / folder(s) / MANIFEST).stat().st_mtime_ns for s in UPSTREAM + DOWNSTREAM}
    cfg = e2e_config(tmp_path / "config.yaml", **{"corpus.thresholds.min_chars": 1500})
    st = kuznia(["status", "--config", str(cfg), "--work-dir", str(wd)], tmp_path).stdout
    assert "first stage to run: corpus (stale: config changed: corpus.thresholds.min_chars 200 → 1500)" in \
        " ".join(st.split())
    proc = kuznia(["run", "--config", str(cfg), "--work-dir", str(wd)], tmp_path)
    log = proc.stdout + proc.stderr
    for s in UPSTREAM:
        assert (wd / folder(s) / MANIFEST).stat().st_mtime_ns == before[s], f"{s} was re-run"
        assert f"[{s}] up to date" in log
    for s in DOWNSTREAM:
        assert (wd / folder(s) / MANIFEST).stat().st_mtime_ns != before[s], f"{s} was not re-run"
    assert manifest(wd, "corpus")["counts"]["documents"] < manifest(reference, "corpus")["counts"]["documents"]
    # train started over on the new shards; the old run's checkpoints are kept aside, with why
    train = manifest(wd, "train")
    assert train["superseded"] and train["final_step"] == manifest(reference, "train")["final_step"]
    kept = wd / "checkpoints" / train["superseded"]
    why = (kept / "WHY").read_text()
    assert list(kept.glob("step-*/COMPLETE")) and ("another tokenizer" in why or "other token shards" in why)
    # the export is the new model
    ours, _ = load_model(latest_checkpoint(wd / "checkpoints"))
    exported = load_file(wd / "export" / "hf" / "model.safetensors")
    for name, tensor in ours.state_dict().items():
        torch.testing.assert_close(exported[name].float(), tensor.to(exported[name].dtype).float())
    st = kuznia(["status", "--config", str(cfg), "--work-dir", str(wd)], tmp_path).stdout
    assert "every stage is done" in st and "val bpb=" in st


def test_forced_source_redoes_its_share_downstream_and_nothing_else(reference, copy_of, tmp_path):
    wd = copy_of(reference)
    cfg = e2e_config(tmp_path / "config.yaml")
    bad = kuznia(["stage", "clean", "--config", str(cfg), "--work-dir", str(wd), "--source", "fortunes_pl",
                  "--force"], tmp_path, check=False)
    assert bad.returncode == 1 and f"did you mean {SOURCE}?" in " ".join((bad.stdout + bad.stderr).split())
    before = {s: markers(wd, s) for s in ("quality", "dedup", "corpus", "tokens")}
    kuznia(["stage", "clean", "--config", str(cfg), "--work-dir", str(wd), "--source", SOURCE, "--force"], tmp_path)
    st = kuznia(["status", "--config", str(cfg), "--work-dir", str(wd)], tmp_path).stdout
    assert "first stage to run: quality (stale: the output of clean changed since it ran)" in " ".join(st.split())
    kuznia(["run", "--config", str(cfg), "--work-dir", str(wd)], tmp_path)
    for stage, phase in (("quality", "quality"), ("dedup", "signatures"), ("corpus", "select"),
                         ("corpus", "write"), ("tokens", "encode")):
        after = markers(wd, stage)
        redone = sorted(m for m, t in before[stage].items() if m.startswith(phase + "/") and after.get(m) != t)
        kept = sorted(m for m, t in before[stage].items() if m.startswith(phase + "/") and after.get(m) == t)
        assert redone and all(SOURCE in m for m in redone), (stage, phase, redone)
        assert kept and not any(SOURCE in m for m in kept), (stage, phase, kept)
    for stage in ("quality", "corpus", "tokens"):  # the same bytes: the source's text did not change
        assert {o["path"]: o["checksum"] for o in manifest(wd, stage)["outputs"]} == \
            {o["path"]: o["checksum"] for o in manifest(reference, stage)["outputs"]}
    # the token shards are the same bytes, so training (and its export) stays done
    assert manifest(wd, "train")["fingerprint"] == manifest(reference, "train")["fingerprint"]


def test_status_takes_set_and_resume_is_no_reason_to_rerun(reference, copy_of, tmp_path):
    wd = copy_of(reference)
    cfg = e2e_config(tmp_path / "config.yaml")
    st = kuznia(["status", "--config", str(cfg), "--work-dir", str(wd), "--set", "train.resume=no",
                 "--set", "runner.workers=1"], tmp_path).stdout
    assert "every stage is done" in st
    st = kuznia(["status", "--config", str(cfg), "--work-dir", str(wd), "--set", "train.max_steps=20"],
                tmp_path).stdout
    assert "first stage to run: train (stale: config changed: train.max_steps 12 → 20)" in " ".join(st.split())
    assert json.loads((wd / "checkpoints" / MANIFEST).read_text())["eval"]["val_bpb"] is not None
