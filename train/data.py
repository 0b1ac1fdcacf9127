"""Training data: fixed windows of `context + 1` tokens over a split's shards, in a seeded order.

The shards of a split, in name order, form one token stream (documents already end in EOS,
so consecutive documents are joined by it). Window `i` is `stream[i*T : i*T + T + 1]`: inputs
are its first `T` tokens, targets the last `T`. The train split visits every window once per
epoch in a permutation drawn from `(seed, epoch)`; the position (`epoch`, `index` into that
permutation) is all a checkpoint needs to continue with exactly the next window. (The val split
is read as text, per source: `train/valset.py`.)

With W processes each micro batch is a global one of W x B windows, in the order one process
would read them: process `rank` takes windows `rank*B .. rank*B + B - 1` of it, and every
process advances the same position by all W x B. The position is the same on every process and
does not depend on W at a step boundary, so a checkpoint saved on N processes resumes on M.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from tokenizer.shards import Shard, ShardFormatError, list_shards, open_shard


class DataError(ValueError):
    """Token data that cannot be trained on: an empty split, too few tokens, a changed split."""


class TokenStream:
    """The concatenated tokens of a split's shards, read by global offset (shards stay memmaps)."""

    def __init__(self, split_dir: Path, *, vocab_size: int | None = None, tokenizer_hash: str | None = None):
        self.split_dir = Path(split_dir)
        prefixes = list_shards(self.split_dir)
        if not prefixes:
            raise DataError(
                f"{self.split_dir} holds no token shards (no *.json headers); the split is empty "
                "or missing: run `kuznia stage tokens` (and give the val split some documents)"
            )
        self.shards: list[Shard] = [
            open_shard(p, vocab_size=vocab_size, tokenizer_hash=tokenizer_hash) for p in prefixes
        ]
        sizes = np.array([s.n_tokens for s in self.shards], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(sizes)])  # shard k covers starts[k]:starts[k+1]
        self.n_tokens = int(self.starts[-1])

    def read(self, start: int, length: int) -> np.ndarray:
        """Tokens `[start, start + length)` of the stream as int64, across shard boundaries."""
        if start < 0 or start + length > self.n_tokens:
            raise IndexError(f"{self.split_dir}: tokens {start}..{start + length} outside 0..{self.n_tokens}")
        out = np.empty(length, dtype=np.int64)
        k = int(np.searchsorted(self.starts, start, side="right")) - 1
        filled = 0
        while filled < length:
            shard = self.shards[k]
            lo = start + filled - int(self.starts[k])
            take = min(length - filled, shard.n_tokens - lo)
            out[filled : filled + take] = shard.tokens[lo : lo + take]
            filled += take
            k += 1
        return out


class WindowLoader:
    """Micro batches `(inputs, targets)` of shape (B, T) from a split, with a resumable position."""

    def __init__(self, split_dir: Path, *, context_tokens: int, micro_batch_size: int, seed: int,
                 shuffle: bool = True, vocab_size: int | None = None, tokenizer_hash: str | None = None,
                 rank: int = 0, world_size: int = 1):
        self.rank, self.world_size = rank, world_size
        self.last_windows: list[int] = []  # the windows of the last micro batch (this process' rows)
        self.stream = TokenStream(split_dir, vocab_size=vocab_size, tokenizer_hash=tokenizer_hash)
        self.context = context_tokens
        self.micro_batch_size = micro_batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.n_windows = (self.stream.n_tokens - 1) // context_tokens
        if self.n_windows < 1:
            raise DataError(
                f"{self.stream.split_dir} holds {self.stream.n_tokens} tokens, fewer than one window of "
                f"context + 1 = {context_tokens + 1}; add data or lower model.context_tokens"
            )
        self.epoch = 0
        self.index = 0
        self._order: np.ndarray | None = None
        self._order_epoch = -1

    @property
    def tokens_per_batch(self) -> int:
        return self.micro_batch_size * self.context

    def _window_order(self) -> np.ndarray:
        if self._order_epoch != self.epoch:
            if self.shuffle:
                rng = np.random.default_rng([self.seed, self.epoch])
                order = rng.permutation(self.n_windows)
            else:
                order = np.arange(self.n_windows)
            # uint32 halves the memory of a 60 B-token corpus' 29 M windows.
            self._order = order.astype(np.uint32 if self.n_windows < 2**32 else np.int64)
            self._order_epoch = self.epoch
        return self._order

    def window(self, w: int) -> np.ndarray:
        """The `context + 1` tokens of window `w` (in stream order, not shuffled)."""
        return self.stream.read(w * self.context, self.context + 1)

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """This process' rows of the next global micro batch; an exhausted epoch continues with the
        next epoch's order."""
        mine = range(self.rank * self.micro_batch_size, (self.rank + 1) * self.micro_batch_size)
        rows, self.last_windows = [], []
        for slot in range(self.world_size * self.micro_batch_size):
            if self.index >= self.n_windows:
                self.epoch += 1
                self.index = 0
            if slot in mine:
                w = int(self._window_order()[self.index])
                self.last_windows.append(w)
                rows.append(self.window(w))
            self.index += 1
        batch = torch.from_numpy(np.stack(rows))
        return batch[:, :-1], batch[:, 1:]

    def state_dict(self) -> dict:
        """The position (JSON-able), plus what it is only valid for (seed and split size)."""
        return {"epoch": self.epoch, "index": self.index, "seed": self.seed,
                "n_windows": self.n_windows, "context_tokens": self.context,
                "n_tokens": self.stream.n_tokens}

    def load_state_dict(self, state: dict, where: str = "checkpoint") -> None:
        """Continue from a saved position; refuses one taken over other data or another seed."""
        mine = self.state_dict()
        for key in ("seed", "context_tokens", "n_tokens"):
            if state.get(key) != mine[key]:
                raise DataError(
                    f"{where} was saved at a data position over {key}={state.get(key)}, but now "
                    f"{key}={mine[key]} ({self.stream.split_dir}); the position would point at other "
                    "windows. Restore the old setting/shards, or start over with `train.resume=no`"
                )
        self.epoch, self.index = int(state["epoch"]), int(state["index"])


__all__ = ["DataError", "ShardFormatError", "TokenStream", "WindowLoader"]
