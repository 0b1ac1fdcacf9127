"""Per-stage rerun: a changed quality threshold re-runs the corpus stage and what follows it,
never fetch, docs, clean, quality or dedup."""

from __future__ import annotations

import pytest
from e2e_support import e2e_config, kuznia, manifest

from kuznia.registry import folder
from kuznia.stage import MANIFEST

pytestmark = pytest.mark.slow
UPSTREAM = ["fetch", "docs", "clean", "quality", "dedup"]
DOWNSTREAM = ["corpus", "tokenizer", "tokens"]


def test_threshold_change_reruns_only_selection_and_downstream(reference, copy_of, tmp_path):
    wd = copy_of(reference)
    before = {s: (wd / folder(s) / MANIFEST).stat().st_mtime_ns for s in UPSTREAM + DOWNSTREAM}
    fps = {s: manifest(wd, s)["fingerprint"] for s in UPSTREAM + DOWNSTREAM}
    cfg = e2e_config(tmp_path / "config.yaml", **{"corpus.thresholds.min_chars": 1500})
    proc = kuznia(["run", "--config", str(cfg), "--work-dir", str(wd), "--stages", "fetch-tokens"], tmp_path)
    for s in UPSTREAM:
        assert (wd / folder(s) / MANIFEST).stat().st_mtime_ns == before[s], f"{s} was re-run"
        assert manifest(wd, s)["fingerprint"] == fps[s]
        assert f"[{s}] up to date" in proc.stdout + proc.stderr
    for s in DOWNSTREAM:
        assert manifest(wd, s)["fingerprint"] != fps[s], f"{s} was not re-run"
    # the stricter threshold took effect: fewer documents, each too_short reason counted
    assert manifest(wd, "corpus")["counts"]["documents"] < manifest(reference, "corpus")["counts"]["documents"]
