"""Fertility: how many tokens the tokenizer spends per word, per source, on held-out documents.

A word is a whitespace-separated run (`str.split()`), the usual definition in tokenizer
comparisons (APT4's Polish 32k tokenizer: 1.62 tokens per word; Mistral's: 3.22). Characters
are code points of the stored text, bytes its UTF-8 length, tokens those of `encode` without
special tokens. Per-source counts are written by one task each and summed in the manifest
under `fertility` (`sources.<name>` and `all`), never recomputed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain, islice

import numpy as np
from tokenizers import Tokenizer

from tokenizer.fast_encode import fast_encoder

COUNT_KEYS = ("docs", "words", "chars", "bytes", "tokens")


def batched(items: Iterable, n: int) -> Iterator[list]:
    """Lists of up to `n` items, in order."""
    it = iter(items)
    while batch := list(islice(it, n)):
        yield batch


def encode_ids(tok: Tokenizer, texts: list[str]) -> list[list[int]]:
    """Token ids of each text, no special tokens added, special-token text encoded as text.

    Our tokenizer goes through `FastEncoder` (tokenizer/fast_encode.py: the same ids, several
    times faster); any other through `encode_batch_fast` (tokenizers >= 0.21: no character
    offsets, which we never use).
    """
    tok.encode_special_tokens = True  # a literal "</s>" in a document is text, not EOS
    if (fast := fast_encoder(tok)) is not None:
        ids, counts = fast.encode(texts)
        flat, ends = ids.tolist(), np.cumsum(counts).tolist()
        return [flat[a:b] for a, b in zip([0, *ends], ends)]
    encode = getattr(tok, "encode_batch_fast", tok.encode_batch)
    return [e.ids for e in encode(texts, add_special_tokens=False)]


def encode_flat(tok: Tokenizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The ids of `encode_ids`, all texts' one after another (int32), and each text's count
    (int64); on our tokenizer's path no Python object is made per token."""
    tok.encode_special_tokens = True  # a literal "</s>" in a document is text, not EOS
    if (fast := fast_encoder(tok)) is not None:
        return fast.encode(texts)
    lists = encode_ids(tok, texts)
    counts = np.fromiter(map(len, lists), np.int64, len(lists))
    return np.fromiter(chain.from_iterable(lists), np.int32, int(counts.sum())), counts


def count_texts(tok: Tokenizer, texts: Iterable[str], *, batch_docs: int = 256) -> dict:
    """Summed counts (`docs, words, chars, bytes, tokens`) over the texts."""
    counts = dict.fromkeys(COUNT_KEYS, 0)
    for batch in batched(texts, batch_docs):
        counts["docs"] += len(batch)
        counts["words"] += sum(len(t.split()) for t in batch)
        counts["chars"] += sum(len(t) for t in batch)
        counts["bytes"] += sum(len(t.encode("utf-8")) for t in batch)
        counts["tokens"] += sum(len(ids) for ids in encode_ids(tok, batch))
    return counts


def with_ratios(counts: dict) -> dict:
    """Counts plus `tokens_per_word`, `chars_per_token`, `bytes_per_token` (None when undefined)."""
    def ratio(a: str, b: str) -> float | None:
        return round(counts[a] / counts[b], 4) if counts[b] else None

    return {
        **{k: counts[k] for k in COUNT_KEYS},
        "tokens_per_word": ratio("tokens", "words"),
        "chars_per_token": ratio("chars", "tokens"),
        "bytes_per_token": ratio("bytes", "tokens"),
    }


def summarize(per_source: dict[str, dict]) -> dict:
    """The manifest's `fertility` entry: ratios per source and over all sources together."""
    total = dict.fromkeys(COUNT_KEYS, 0)
    for counts in per_source.values():
        for k in COUNT_KEYS:
            total[k] += counts[k]
    return {
        "definition": "held-out documents; words = whitespace-separated runs; "
                      "tokens without special tokens",
        "sources": {s: with_ratios(per_source[s]) for s in sorted(per_source)},
        "all": with_ratios(total),
    }


def format_table(fertility: dict) -> str:
    """A plain-text table of the fertility entry (printed after training)."""
    rows = [("source", "docs", "words", "tok/word", "chars/tok")]
    for name, r in [*fertility["sources"].items(), ("all", fertility["all"])]:
        rows.append((name, str(r["docs"]), str(r["words"]),
                     "-" if r["tokens_per_word"] is None else f"{r['tokens_per_word']:.3f}",
                     "-" if r["chars_per_token"] is None else f"{r['chars_per_token']:.3f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                               enumerate(zip(r, widths))) for r in rows)
