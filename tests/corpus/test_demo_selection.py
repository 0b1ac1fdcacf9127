"""The demo (configs/demo.yaml) through fetch -> corpus in this process, scored against its labels
(data/demo/labels.jsonl) on this issue's targets: planted boilerplate removed with the text
kept, repaired mojibake reaching the corpus, clean curated text kept by the curated profile."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from config_sections import sections
from demo_corpus import DEMO, load_demo

from corpus.clean.config import CleanConfig
from corpus.clean.linecount import FREQUENT_DIR
from corpus.clean.repeated import FrequentLines
from corpus.clean.rules import clean_text
from kuznia.driver import run_stage
from kuznia.mappers import serial_mapper
from kuznia.stage import load_spec

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("fetch", "docs", "clean", "quality", "dedup", "corpus")


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    conf = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text("utf-8"))
    conf["fetch"]["speakleash"]["base_url"] = str(DEMO / "speakleash")
    conf["fetch"]["wikipedia"]["base_url"] = str(DEMO / "wikipedia")
    cfg = sections(**{k: conf.get(k, {}) for k in ("fetch", "docs", "clean", "quality", "dedup", "corpus")})
    wd = tmp_path_factory.mktemp("demo")
    for name in STAGES:
        run_stage(load_spec(name), cfg, wd, mapper=serial_mapper, log=lambda m: None)
    return wd


def rows(wd: Path, folder: str, columns: list[str]) -> dict[str, dict]:
    return {r["id"]: r for p in sorted((wd / folder).glob("*/part-*.parquet"))
            for r in pq.read_table(p, columns=columns).to_pylist()}


def lines(text: str) -> Counter:
    return Counter(line.strip() for line in text.split("\n") if line.strip())


def originals(name: str) -> dict[str, str]:
    return {r["id"]: r["text"] for r in map(json.loads, (DEMO / name).read_text("utf-8").splitlines())}


def test_planted_boilerplate_goes_and_the_text_stays(work: Path):
    demo = load_demo()
    cleaned = {i: r["text"] for i, r in rows(work, "clean", ["id", "text"]).items()}
    no_lines = CleanConfig(remove_boilerplate=False, remove_repeated_lines=False)
    kept = total = 0
    for doc_id, text in originals("boilerplate_originals.jsonl").items():
        out = lines(cleaned[doc_id])
        assert not [b for b in demo.labels[doc_id]["boilerplate_lines"] if b.strip() in out], doc_id
        ref = lines(clean_text(text, no_lines).text)
        total += sum(ref.values())
        kept += sum((ref & out).values())
    assert kept / total >= 0.995
    m = json.loads((work / "clean" / "_manifest.json").read_text())
    assert m["repeated_lines"]["lines_removed"]["repeated"] > 0


def test_repaired_mojibake_reaches_the_corpus(work: Path):
    """Of the documents whose mojibake was repaired exactly and whose repaired text passes every
    rule but the label (rejected by none, or only as `speakleash_low`), ≥ 90 % are kept."""
    frequent = FrequentLines.from_rows(np.concatenate([np.load(p) for p in sorted(
        (work / "clean" / FREQUENT_DIR).glob("*.npy"))]))
    cleaned = {i: r["text"] for i, r in rows(work, "clean", ["id", "text"]).items()}
    decided = rows(work, "corpus/_decisions", ["id", "reason"])
    eligible = kept = 0
    for doc_id, text in originals("mojibake_originals.jsonl").items():
        reason = decided[doc_id]["reason"]
        if cleaned[doc_id] == clean_text(text, CleanConfig(), frequent).text and \
                reason in (None, "duplicate", "speakleash_low"):
            eligible += 1
            kept += reason != "speakleash_low"
    assert eligible >= 30 and kept / eligible >= 0.9


def test_curated_sources_keep_their_clean_documents(work: Path):
    demo = load_demo()
    m = json.loads((work / "corpus" / "_manifest.json").read_text())
    curated = set(m["profiles"]["curated"]["sources"]) - {"speakleash.fortunes_pl"}  # verse, IRC logs
    decided = rows(work, "corpus/_decisions", ["id", "reason", "label"])
    docs = [i for i, lab in demo.labels.items() if lab["kind"] == "clean" and i in decided
            and i.split("/")[0] in curated and decided[i]["label"] in ("HIGH", "MEDIUM", None)]
    rejected = [i for i in docs if decided[i]["reason"] not in (None, "duplicate")]
    assert len(docs) >= 150 and len(rejected) / len(docs) <= 0.05, rejected
