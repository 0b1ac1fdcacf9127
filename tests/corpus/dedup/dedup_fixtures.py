"""Helpers of the dedup tests: a tiny `clean/` folder written the way the clean stage writes it.

(A module of its own, not conftest: several test folders have a conftest, and `from conftest
import` would pick whichever was imported first.)
"""

from __future__ import annotations

import json
from pathlib import Path

from corpus.dedup.config import DedupConfig
from kuznia.files import write_json_atomic
from kuznia.parts import part_name, write_docs


def make_clean(work: Path, sources: dict[str, list[list[tuple[str, str]]]]) -> Path:
    """clean/<source>/part-NNNNN.parquet from {source: [part rows [(id, text)], ...]} + a manifest."""
    clean = work / "clean"
    for source, parts in sources.items():
        for i, rows in enumerate(parts):
            write_docs(clean / source / part_name(i), {
                "id": [r[0] for r in rows],
                "source": [source] * len(rows),
                "text": [r[1] for r in rows],
                "meta": [json.dumps({})] * len(rows),
            })
    write_json_atomic(clean / "_manifest.json", {"stage": "clean", "fingerprint": "clean-fixture"})
    return clean


def dedup_config(**dedup) -> dict:
    return {"dedup": DedupConfig.model_validate(dedup)}
