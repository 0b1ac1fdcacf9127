"""Cutting a stream of documents into token shards, whole arrays at a time (the tokens stage's
write phase)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tokenizer.shards import SOURCE_DTYPE, write_shard


class RollingShards:
    """Cut a stream of documents into shards that close at the first document boundary at or
    past `shard_tokens` (the rule of `ShardWriter`), taking whole arrays of documents at once:
    `ShardWriter.add` validates each document, which costs ~100 µs a document — hours on a
    corpus of 100 M documents — while `write_shard` validates once per shard. With `source_names`,
    each document's source (an index into them) goes into the shards too."""

    def __init__(self, out_dir: Path, *, vocab_size: int, tokenizer_hash: str, shard_tokens: int,
                 source_names: tuple[str, ...] | None = None):
        self.out_dir, self.vocab_size, self.hash = out_dir, vocab_size, tokenizer_hash
        self.shard_tokens, self.source_names = shard_tokens, source_names
        self.tokens: list[np.ndarray] = []
        self.lengths: list[np.ndarray] = []
        self.sources: list[np.ndarray] = []
        self.pending = 0
        self.shards: list[dict] = []

    def add(self, tokens: np.ndarray, lengths: np.ndarray, sources: np.ndarray | None = None) -> None:
        """Append documents: their tokens back to back, each one's length (and source index)."""
        self.tokens.append(tokens)
        self.lengths.append(lengths)
        if self.source_names is not None:
            self.sources.append(sources)
        self.pending += int(tokens.size)
        if self.pending >= self.shard_tokens:
            self._cut(final=False)

    def _cut(self, *, final: bool) -> None:
        tokens = np.concatenate(self.tokens) if self.tokens else np.zeros(0, np.uint16)
        lengths = np.concatenate(self.lengths) if self.lengths else np.zeros(0, np.uint64)
        sources = np.concatenate(self.sources) if self.sources else np.zeros(0, SOURCE_DTYPE)
        self.tokens, self.lengths, self.sources = [], [], []  # the pieces go before the shards are written
        ends = np.cumsum(lengths, dtype=np.uint64)
        first = 0  # first document of the shard being cut
        base = 0  # its token offset
        while first < lengths.size:
            # The first document whose end reaches the budget closes the shard.
            k = int(np.searchsorted(ends, base + self.shard_tokens, side="left"))
            if k >= lengths.size and not final:
                break
            k = min(k, lengths.size - 1)
            end = int(ends[k])
            offsets = np.concatenate([[0], ends[first : k + 1] - base]).astype(np.uint64)
            self._write(tokens[base:end], offsets, sources[first : k + 1])
            first, base = k + 1, end
        # copies, not views: a view would keep the whole concatenation alive until the next cut
        self.tokens = [tokens[base:].copy()] if base < tokens.size else []
        self.lengths = [lengths[first:].copy()] if first < lengths.size else []
        self.sources = [sources[first:].copy()] if first < sources.size else []
        self.pending = int(tokens.size - base)

    def _write(self, tokens: np.ndarray, offsets: np.ndarray, sources: np.ndarray) -> None:
        prefix = self.out_dir / f"shard-{len(self.shards):05d}"
        write_shard(prefix, tokens, offsets, vocab_size=self.vocab_size, tokenizer_hash=self.hash,
                    doc_sources=(sources, self.source_names) if self.source_names is not None else None)
        self.shards.append({"path": prefix, "n_tokens": int(tokens.size), "n_docs": int(offsets.size - 1)})

    def close(self) -> list[dict]:
        """Write what is left as the last shard; return `{"path", "n_tokens", "n_docs"}` per shard."""
        self._cut(final=True)
        return self.shards
