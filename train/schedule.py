"""The learning-rate schedule: linear warmup, then a cosine down to a floor.

A pure function of the step, so a resumed run needs no scheduler state: the checkpoint's step
is enough to continue on exactly the same curve.
"""

from __future__ import annotations

import math


def lr_at(step: int, *, lr: float, min_lr: float, warmup_steps: int, max_steps: int) -> float:
    """The learning rate of optimizer step `step` (0-based).

    Warmup: `lr * (step + 1) / warmup_steps` for the first `warmup_steps` steps (so step 0
    already learns); then `min_lr + (lr - min_lr) * (1 + cos(pi * progress)) / 2`, with progress
    going from 0 at `warmup_steps` to 1 at `max_steps - 1`; `min_lr` from there on.
    """
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    decay_steps = max_steps - 1 - warmup_steps
    if decay_steps <= 0:
        return lr if step < max_steps else min_lr
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    return min_lr + (lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
