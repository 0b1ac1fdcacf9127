"""Fixtures for the train tests (helpers live in train_fixtures.py: a unique module name)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from train_fixtures import TEXTS, build_tokenizer, pattern_docs, write_split

from tokenizer.shards import tokenizer_hash


@pytest.fixture
def tokens_dir(tmp_path: Path) -> Path:
    """`tokens/` with a train split over several shards and a small val split."""
    d = tmp_path / "tokens"
    write_split(d / "train", pattern_docs(150, seed=0), shard_tokens=2500)
    write_split(d / "val", pattern_docs(12, seed=1))
    return d


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory) -> Path:
    return build_tokenizer(tmp_path_factory.mktemp("tok") / "tokenizer")


@pytest.fixture
def text_work_dir(tmp_path: Path, tokenizer_dir: Path) -> Path:
    """A work_dir with `tokenizer/` and `tokens/` made from real text (what the stages produce)."""
    from tokenizers import Tokenizer

    work = tmp_path / "work"
    shutil.copytree(tokenizer_dir, work / "tokenizer")
    tok = Tokenizer.from_file(str(work / "tokenizer" / "tokenizer.json"))
    vocab = tok.get_vocab_size(with_added_tokens=True)
    h = tokenizer_hash(work / "tokenizer" / "tokenizer.json")
    docs = [tok.encode(t).ids for t in TEXTS]
    write_split(work / "tokens" / "train", docs * 3, vocab_size=vocab, tok_hash=h, shard_tokens=1000)
    write_split(work / "tokens" / "val", docs[:5], vocab_size=vocab, tok_hash=h)
    (work / "tokens" / "_manifest.json").write_text(json.dumps(
        {"stage": "tokens", "fingerprint": "tokens-fp", "vocab_size": vocab, "tokenizer_hash": h,
         "counts": {"train_tokens": 0, "val_tokens": 0}}))
    (work / "tokenizer" / "_manifest.json").write_text(json.dumps({"stage": "tokenizer", "fingerprint": "tok-fp"}))
    return work


@pytest.fixture
def sourced_tokens(text_work_dir):
    """`tokens/` whose val shards record sources; a third source has no val document."""
    from tokenizers import Tokenizer

    tok_json = text_work_dir / "tokenizer" / "tokenizer.json"
    tok = Tokenizer.from_file(str(tok_json))
    vocab, h = tok.get_vocab_size(with_added_tokens=True), tokenizer_hash(tok_json)
    val = text_work_dir / "tokens" / "val"
    for p in val.iterdir():
        p.unlink()
    texts = TEXTS[:5]
    write_split(val, [tok.encode(t).ids for t in texts], vocab_size=vocab, tok_hash=h,
                sources=["wiki", "forum", "wiki", "forum", "wiki"])
    m = text_work_dir / "tokens" / "_manifest.json"
    per = {"train": {"docs": 15, "tokens": 1000, "bytes": 3000}, "val": {"docs": 2, "tokens": 90, "bytes": 200}}
    m.write_text(json.dumps({**json.loads(m.read_text()), "sources": {s: per for s in ("forum", "manpages", "wiki")}}))
    return text_work_dir, texts, vocab, h
