"""Accuracy targets on the bundled demo data's planted noise (labels from its build script).

Reads the Speakleash `.jsonl.zst` files directly (zstandard + json), cleans every document,
computes its signals and applies `decide` with the default thresholds:
- >= 98 % of `foreign` documents rejected (and by the language rule itself, not only by the
  LOW label the mirror gives most of them);
- <= 1 % of `clean` Polish documents rejected by the language rule;
- >= 90 % of `mojibake` documents restored to the exact original text;
- every planted boilerplate line removed (and the rest of the text left as cleaning leaves
  the original).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import zstandard

from corpus.clean import CleanConfig, clean_text
from corpus.mojibake import fix_mojibake
from corpus.quality import QualityConfig, SignalComputer, Thresholds, decide

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def demo():
    if not (DEMO / "labels.jsonl").exists():
        pytest.fail(f"{DEMO} has no labels.jsonl: build it with scripts/build_demo_data.py")
    labels = {r["id"]: r for r in read_jsonl(DEMO / "labels.jsonl")}
    docs = {}
    for path in sorted((DEMO / "speakleash").glob("*.jsonl.zst")):
        dataset = path.name[: -len(".jsonl.zst")]
        with open(path, "rb") as f:
            raw = zstandard.ZstdDecompressor().stream_reader(f).read()
        for n, line in enumerate(raw.split(b"\n"), 1):
            try:
                obj = json.loads(line)
            except ValueError:
                continue  # malformed lines are the docs stage's business
            if isinstance(obj, dict) and isinstance(obj.get("text"), str):
                docs[f"speakleash.{dataset}/{n:09d}"] = (obj["text"], json.dumps(obj.get("meta") or {}))
    cfg = CleanConfig()
    computer = SignalComputer(QualityConfig())
    results = {}
    for doc_id, (text, meta) in docs.items():
        cleaned = clean_text(text, cfg).text
        signals = computer(cleaned, meta)
        results[doc_id] = (text, cleaned, signals, decide(signals, Thresholds()))
    return labels, results


def of_kind(demo, kind):
    labels, results = demo
    return {i: r for i, r in results.items() if labels[i]["kind"] == kind}


def test_foreign_documents_rejected(demo):
    foreign = of_kind(demo, "foreign")
    assert len(foreign) >= 50
    rejected = sum(not keep for _, _, _, (keep, _) in foreign.values())
    assert rejected / len(foreign) >= 0.98
    # The language rule alone, whatever the source's label says:
    no_label = Thresholds(reject_speakleash_labels=[])
    by_language = sum(decide(s, no_label)[1] == "not_polish" for _, _, s, _ in foreign.values())
    assert by_language / len(foreign) >= 0.98


def test_clean_polish_rarely_rejected_by_the_language_rule(demo):
    clean = of_kind(demo, "clean")
    assert len(clean) >= 500
    not_polish = [i for i, (_, _, s, _) in clean.items()
                  if decide(s, Thresholds(reject_speakleash_labels=[]))[1] == "not_polish"]
    assert len(not_polish) / len(clean) <= 0.01, not_polish


def test_mojibake_restored_exactly(demo):
    originals = {r["id"]: r["text"] for r in read_jsonl(DEMO / "mojibake_originals.jsonl")}
    garbled = of_kind(demo, "mojibake")
    assert len(garbled) >= 40
    restored = sum(fix_mojibake(text)[0] == originals[i] for i, (text, *_) in garbled.items())
    assert restored / len(garbled) >= 0.90
    cfg = CleanConfig()
    same_after_cleaning = sum(
        cleaned == clean_text(originals[i], cfg).text for i, (_, cleaned, *_) in garbled.items())
    assert same_after_cleaning / len(garbled) >= 0.90


def test_every_planted_boilerplate_line_removed(demo):
    labels, _ = demo
    originals = {r["id"]: r["text"] for r in read_jsonl(DEMO / "boilerplate_originals.jsonl")}
    pages = of_kind(demo, "boilerplate")
    assert len(pages) >= 30
    cfg = CleanConfig()
    for doc_id, (_, cleaned, *_) in pages.items():
        lines = {line.strip() for line in cleaned.split("\n")}
        left = [b for b in labels[doc_id]["boilerplate_lines"] if b.strip() in lines]
        assert not left, (doc_id, left)
        assert cleaned == clean_text(originals[doc_id], cfg).text, doc_id
