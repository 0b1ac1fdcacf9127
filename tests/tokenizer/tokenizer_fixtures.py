"""Test helpers: a small fake corpus stage output, the test config, copying stage folders.

(A module of its own, not conftest.py, so `from tokenizer_fixtures import ...` cannot pick up
another folder's conftest.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

from config_sections import sections
from polish_text import PolishText

from kuznia.files import write_json_atomic
from kuznia.parts import part_name, write_docs

VOCAB = 1000
# Characters planted in a few documents: rarer than the alphabet cut-off, so spelled in bytes.
RARE = "ß"
# source -> (documents, parts)
SOURCES = {"speakleash.forum": (240, 2), "speakleash.news": (160, 1), "wikipedia": (120, 1)}


def corpus_docs() -> dict[str, list[tuple[str, str]]]:
    """The fake corpus: per source, (id, text) pairs; one empty document in speakleash.news."""
    gen = PolishText(7)
    out = {}
    for source, (n, _) in SOURCES.items():
        docs = []
        for i in range(n):
            text = gen.document(min_chars=100, max_chars=1500)
            if source == "wikipedia" and i < 2:
                text += f" Straße {RARE}."
            if source == "speakleash.news" and i == 5:
                text = ""
            docs.append((f"{source}/{i + 1:09d}", text))
        out[source] = docs
    return out


def write_corpus(work_dir: Path) -> dict[str, list[tuple[str, str]]]:
    """Write the fake corpus as `corpus/<source>/part-*.parquet` plus a corpus manifest."""
    docs = corpus_docs()
    for source, (_, parts) in SOURCES.items():
        rows = docs[source]
        per = -(-len(rows) // parts)
        for p in range(parts):
            chunk = rows[p * per : (p + 1) * per]
            write_docs(work_dir / "corpus" / source / part_name(p), {
                "id": [i for i, _ in chunk], "source": [source] * len(chunk),
                "text": [t for _, t in chunk], "meta": ["{}"] * len(chunk),
            })
    write_json_atomic(work_dir / "corpus" / "_manifest.json", {"stage": "corpus", "fingerprint": "x"})
    return docs


def make_config(**given) -> dict:
    base = {
        "tokenizer": {"vocab_size": VOCAB, "alphabet_size": 60, "sample_bytes": 10**9,
                      "heldout_fraction": 0.1},
        "tokens": {"shard_tokens": 20_000, "val_fraction": 0.1, "bucket_tokens": 30_000},
    }
    for k, v in given.items():
        base[k] = {**base.get(k, {}), **v}
    return sections(**base)


def copy_stages(src: Path, dst: Path, *stages: str) -> Path:
    """Copy stage folders into a fresh work dir (so a test can change them)."""
    for s in stages:
        shutil.copytree(src / s, dst / s)
    return dst
