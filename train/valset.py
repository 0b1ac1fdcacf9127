"""The val text every evaluation scores: per source, its first val documents, up to a byte budget.

Bits per byte are comparable across models and tokenizers only on the same text, so the set is
defined as text: for each source (the val shards record each document's source), its documents in
shard order (a seeded shuffle, `tokenizer/tokens.py`) are decoded with our tokenizer until the
source's `bytes_per_source` budget is spent, the last one cut at a character boundary. Our own
models score our tokens of that text (a whole document's are the shard's own; a cut one is
encoded again); any other model encodes the same text with its tokenizer (`train/scorers.py`).
Without a tokenizer (unit tests of the loop on synthetic ids) the set is token ids alone, the
budget counts tokens, and there are no bits per byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kuznia.stage import MANIFEST
from tokenizer.fertility import encode_ids
from tokenizer.shards import list_shards, open_shard
from train.data import DataError

UNLABELLED = "(all)"  # the one "source" of val shards that record none (made before sources were)


@dataclass(frozen=True)
class EvalText:
    """One scored piece of val text: a whole document, or the start of one."""

    source: str
    text: str | None
    n_bytes: int | None
    """UTF-8 bytes of `text` (None without a tokenizer)."""


@dataclass
class ValSet:
    """The val texts, our token ids of each (no special tokens), and the id that precedes a
    document in training (EOS: documents follow one another, each ending in it)."""

    texts: list[EvalText]
    ids: list[np.ndarray]
    start_id: int
    sources: list[str]
    """Every source of the corpus, sorted; those without val documents are in `no_val`."""
    no_val: list[str] = field(default_factory=list)

    @property
    def n_tokens(self) -> int:
        return sum(int(a.size) for a in self.ids)

    def describe(self) -> str:
        """One line for the startup log."""
        n_bytes = sum(t.n_bytes or 0 for t in self.texts)
        size = f"{n_bytes:,} bytes, " if any(t.n_bytes for t in self.texts) else ""
        missing = f"; no val documents: {', '.join(self.no_val)}" if self.no_val else ""
        return (f"val set: {len(self.texts)} texts from {len(self.sources) - len(self.no_val)} source(s), "
                f"{size}{self.n_tokens:,} tokens{missing}")


def corpus_sources(tokens_dir: Path) -> list[str]:
    """The sources the tokens stage encoded (its manifest), sorted; [] when it is not there."""
    path = Path(tokens_dir) / MANIFEST
    if not path.exists():
        return []
    return sorted(json.loads(path.read_text("utf-8")).get("sources") or {})


def load_valset(tokens_dir: Path, *, bytes_per_source: int, tokenizer_json: Path | None = None,
                vocab_size: int | None = None, tokenizer_hash: str | None = None) -> ValSet:
    """Select and decode the val texts (see the module docstring); reads only what it keeps."""
    val_dir = Path(tokens_dir) / "val"
    prefixes = list_shards(val_dir)
    if not prefixes:
        raise DataError(f"val split: {val_dir} holds no token shards; run `kuznia stage tokens` "
                        "(and give the val split some documents: tokens.val_fraction)")
    tok = None
    if tokenizer_json is not None and Path(tokenizer_json).exists():
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(tokenizer_json))
    left: dict[str, int] = {}
    texts, ids, start = [], [], None
    for prefix in prefixes:
        shard = open_shard(prefix, vocab_size=vocab_size, tokenizer_hash=tokenizer_hash)
        names = shard.header.sources or (UNLABELLED,)
        which = shard.source_ids if shard.source_ids is not None else np.zeros(shard.n_docs, np.uint16)
        for i, k in enumerate(which.tolist()):
            budget = left.setdefault(names[k], bytes_per_source)
            if budget <= 0:
                continue
            doc = np.asarray(shard.doc(i), dtype=np.int64)
            start = int(doc[-1]) if start is None else start  # every document ends in EOS
            text, doc_ids = _cut(tok, doc[:-1], budget)
            if not doc_ids.size:  # the budget left is less than one character
                left[names[k]] = 0
                continue
            n_bytes = len(text.encode("utf-8")) if text is not None else None
            texts.append(EvalText(names[k], text, n_bytes))
            ids.append(doc_ids)
            left[names[k]] = budget - (n_bytes if n_bytes is not None else int(doc_ids.size))
    every = sorted(set(corpus_sources(tokens_dir)) | set(left))
    return ValSet(texts, ids, start if start is not None else 0, every, [s for s in every if s not in left])


def _cut(tok, doc: np.ndarray, budget: int) -> tuple[str | None, np.ndarray]:
    """A document's text (cut to `budget` bytes at a character boundary) and our ids of it: the
    shard's own when it is whole. Without a tokenizer, no text and the first `budget` ids."""
    if tok is None:
        return None, doc[:budget]
    text = tok.decode(doc.tolist(), skip_special_tokens=True)
    raw = text.encode("utf-8")
    if len(raw) > budget:
        text = raw[:budget].decode("utf-8", errors="ignore")
        doc = np.asarray(encode_ids(tok, [text])[0], dtype=np.int64)
    return text, doc
