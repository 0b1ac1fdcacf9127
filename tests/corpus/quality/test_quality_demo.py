"""Accuracy targets on the bundled demo data's planted noise (labels from its build script).

Reads the Speakleash documents with the docs stage's readers (`tests/demo_corpus.py`), cleans each,
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
from demo_corpus import DEMO as DEMO_DIR
from demo_corpus import DemoCorpus

from corpus.clean.config import CleanConfig
from corpus.clean.mojibake import fix_mojibake
from corpus.clean.rules import clean_text
from corpus.quality.config import QualityConfig
from corpus.quality.signals import SignalComputer
from corpus.select.thresholds import Thresholds, decide


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def scored(demo: DemoCorpus) -> dict[str, tuple]:
    """Per Speakleash document: (text, cleaned text, signals, decision at default thresholds)."""
    cfg = CleanConfig()
    computer = SignalComputer(QualityConfig())
    results = {}
    for doc_id in sorted(i for i in demo.docs if i.startswith("speakleash.")):
        text = demo.text(doc_id)
        cleaned = clean_text(text, cfg).text
        signals = computer(cleaned, demo.meta(doc_id))
        results[doc_id] = (text, cleaned, signals, decide(signals, Thresholds()))
    return results


def of_kind(demo: DemoCorpus, scored: dict, kind: str) -> dict[str, tuple]:
    return {i: scored[i] for i in demo.of_kind(kind) if i in scored}


def test_foreign_documents_rejected(demo, scored):
    foreign = of_kind(demo, scored, "foreign")
    assert len(foreign) >= 50
    rejected = sum(not keep for _, _, _, (keep, _) in foreign.values())
    assert rejected / len(foreign) >= 0.98
    # The language rule alone, whatever the source's label says:
    no_label = Thresholds(reject_speakleash_labels=[])
    by_language = sum(decide(s, no_label)[1] == "not_polish" for _, _, s, _ in foreign.values())
    assert by_language / len(foreign) >= 0.98


def test_clean_polish_rarely_rejected_by_the_language_rule(demo, scored):
    clean = of_kind(demo, scored, "clean")
    assert len(clean) >= 500
    not_polish = [i for i, (_, _, s, _) in clean.items()
                  if decide(s, Thresholds(reject_speakleash_labels=[]))[1] == "not_polish"]
    assert len(not_polish) / len(clean) <= 0.01, not_polish


def test_mojibake_restored_exactly(demo, scored):
    originals = {r["id"]: r["text"] for r in read_jsonl(DEMO_DIR / "mojibake_originals.jsonl")}
    garbled = of_kind(demo, scored, "mojibake")
    assert len(garbled) >= 40
    restored = sum(fix_mojibake(text)[0] == originals[i] for i, (text, *_) in garbled.items())
    assert restored / len(garbled) >= 0.90
    cfg = CleanConfig()
    same_after_cleaning = sum(
        cleaned == clean_text(originals[i], cfg).text for i, (_, cleaned, *_) in garbled.items())
    assert same_after_cleaning / len(garbled) >= 0.90


def test_every_planted_boilerplate_line_removed(demo, scored):
    originals = {r["id"]: r["text"] for r in read_jsonl(DEMO_DIR / "boilerplate_originals.jsonl")}
    pages = of_kind(demo, scored, "boilerplate")
    assert len(pages) >= 30
    cfg = CleanConfig()
    for doc_id, (_, cleaned, *_) in pages.items():
        lines = {line.strip() for line in cleaned.split("\n")}
        left = [b for b in demo.labels[doc_id]["boilerplate_lines"] if b.strip() in lines]
        assert not left, (doc_id, left)
        assert cleaned == clean_text(originals[doc_id], cfg).text, doc_id
