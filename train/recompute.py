"""Trading compute for memory: activation checkpointing and a chunked output head + loss.

Both change only what autograd keeps between forward and backward, never the numbers it
computes, so a run with them gives the same losses as one without (up to kernel-level
reduction order on GPU). Applied from outside the model: `model/llama.py` stays plain.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from model.llama import Llama


def _recomputed(forward: Callable) -> Callable:
    @functools.wraps(forward)
    def wrapper(*args, **kwargs):
        if not torch.is_grad_enabled():
            return forward(*args, **kwargs)
        return checkpoint(forward, *args, use_reentrant=False, **kwargs)

    return wrapper


def apply_activation_checkpointing(model: Llama, mode: str) -> None:
    """Recompute each block's MLP (`mlp`) or each whole block (`block`) in backward.

    The wrapper replaces the module instance's `forward`, so parameter names (and checkpoints
    and exports) are unchanged.
    """
    if mode == "none":
        return
    if mode not in ("mlp", "block"):
        raise ValueError(f"train.activation_checkpointing={mode!r}; allowed: none, mlp, block")
    for block in model.model.layers:
        target = block.mlp if mode == "mlp" else block
        target.forward = _recomputed(target.forward)


def _chunk_loss_sum(head_weight: torch.Tensor, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    logits = F.linear(h, head_weight)
    return F.cross_entropy(logits.float(), y, reduction="sum")


def causal_lm_loss(model: Llama, inputs: torch.Tensor, targets: torch.Tensor,
                   chunk_tokens: int | None = None) -> torch.Tensor:
    """Mean next-token cross entropy. With `chunk_tokens`, the head and the loss run over
    chunks of that many tokens, each recomputed in backward, so only one chunk's logits
    (and their fp32 copy) exist at a time instead of all (tokens x vocab) of them."""
    if chunk_tokens is None:
        return model(inputs, targets)
    h = model(inputs, hidden_only=True).flatten(0, 1)  # (B*T, d)
    y = targets.reshape(-1)
    total = h.new_zeros((), dtype=torch.float32)
    for start in range(0, h.shape[0], chunk_tokens):
        hc, yc = h[start : start + chunk_tokens], y[start : start + chunk_tokens]
        if torch.is_grad_enabled():
            total = total + checkpoint(_chunk_loss_sum, model.lm_head.weight, hc, yc, use_reentrant=False)
        else:
            total = total + _chunk_loss_sum(model.lm_head.weight, hc, yc)
    return total / y.numel()
