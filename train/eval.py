"""Evaluation on the val split: mean loss, perplexity and bits per byte.

Bits per byte compare models with different tokenizers: the summed loss (in bits) over the
target tokens divided by the UTF-8 bytes those tokens decode to. The byte count is taken once
by decoding the (fixed) val windows with the tokenizer; special tokens count as zero bytes.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from pathlib import Path

import torch


def count_target_bytes(tokenizer_json: Path | None, batches: list[tuple[torch.Tensor, torch.Tensor]]
                       ) -> int | None:
    """UTF-8 bytes of the val targets' text, or None without a tokenizer file."""
    if tokenizer_json is None or not Path(tokenizer_json).exists():
        return None
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_json))
    total = 0
    for _, y in batches:
        for row in y.tolist():
            total += len(tok.decode(row, skip_special_tokens=True).encode("utf-8"))
    return total


@torch.no_grad()
def evaluate(model: torch.nn.Module, loss_fn: Callable, batches: list[tuple[torch.Tensor, torch.Tensor]], *,
             device: torch.device, autocast: Callable[[], contextlib.AbstractContextManager],
             target_bytes: int | None) -> dict:
    """`{"val_loss", "val_ppl", "val_bpb", "val_tokens"}` over the given batches (model left in train mode)."""
    model.eval()
    try:
        loss_sum, n_tokens = 0.0, 0
        for x, y in batches:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with autocast():
                loss = loss_fn(x, y)
            loss_sum += float(loss) * y.numel()
            n_tokens += y.numel()
    finally:
        model.train()
    mean = loss_sum / n_tokens
    bpb = loss_sum / math.log(2) / target_bytes if target_bytes else None
    return {
        "val_loss": round(mean, 6),
        "val_ppl": round(math.exp(min(mean, 700.0)), 4),
        "val_bpb": round(bpb, 6) if bpb is not None else None,
        "val_tokens": n_tokens,
    }
