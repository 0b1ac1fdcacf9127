"""The bundled demo data, read the one way the pipeline reads it: with the docs stage's readers.

Tests that check our code against a reference (langdetect, the Python text statistics) run it
over real Polish text as well as generated strings, and the accuracy tests score the demo's
planted noise against `data/demo/labels.jsonl`; both get the documents here. The demo holds a few
malformed lines on purpose: the readers reject them, as the docs stage does.
(`tests/test_demo_data.py` checks the files' format itself, and so parses them on its own.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from corpus.sources import speakleash, wikipedia
from corpus.sources.records import Doc, meta_json

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
SPEAKLEASH = DEMO / "speakleash"
LABELS = DEMO / "labels.jsonl"


@dataclass(frozen=True)
class DemoCorpus:
    docs: dict[str, Doc]
    """Every well-formed document of the mirror (Speakleash and Wikipedia), by id."""
    labels: dict[str, dict]
    """The build script's label of every planted line, by id."""

    def text(self, doc_id: str) -> str:
        return self.docs[doc_id].text

    def meta(self, doc_id: str) -> str:
        """The document's meta as the docs stage stores it (JSON)."""
        return meta_json(self.docs[doc_id].meta)

    def of_kind(self, kind: str) -> list[str]:
        """Ids of the documents labelled `kind`, sorted."""
        return sorted(i for i, lab in self.labels.items() if lab.get("kind") == kind and i in self.docs)


@lru_cache(maxsize=1)
def load_demo() -> DemoCorpus:
    """Parse the demo mirror and its labels (once per process)."""
    if not LABELS.exists():
        raise FileNotFoundError(f"{LABELS} is missing: the demo mirror is committed data; rebuild it "
                                "with `python scripts/build_demo_data.py` (see data/demo/README.md)")
    docs: dict[str, Doc] = {}
    for f in sorted(SPEAKLEASH.glob("*.jsonl.zst")):
        docs.update((d.id, d) for d in speakleash.iter_docs(f, f.name[: -len(".jsonl.zst")]) if isinstance(d, Doc))
    for f in sorted(DEMO.rglob("*pages-articles.xml.bz2")):
        docs.update((d.id, d) for d in wikipedia.iter_docs(f) if isinstance(d, Doc))
    labels = {}
    for line in LABELS.read_text("utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            labels[r["id"]] = r
    return DemoCorpus(docs, labels)


def demo_texts(per_file: int | None = None) -> list[str]:
    """The texts of each demo Speakleash dataset's documents (the first `per_file` of each, if
    given), dataset by dataset in name order."""
    by_dataset: dict[str, list[str]] = {}
    for doc_id, doc in sorted(load_demo().docs.items()):
        if doc_id.startswith("speakleash."):
            by_dataset.setdefault(doc_id.split("/")[0], []).append(doc.text)
    return [t for name in sorted(by_dataset) for t in by_dataset[name][:per_file]]
