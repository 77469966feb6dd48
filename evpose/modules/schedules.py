"""Learning-rate schedules built from config (``_partial_: true``; the module passes the
optimizer and the total number of steps)."""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def scheduled_steps(trainer) -> int:
    """The optimisation steps a schedule spans: the whole run of ``trainer``.

    Lightning's ``estimated_stepping_batches``: ``trainer.max_steps`` when the epochs are
    unbounded (``max_epochs=-1``, a fixed step budget), else the epochs times the batches
    per epoch, capped by ``max_steps`` when both are set.

    Raises:
        ValueError: neither ``max_steps`` nor ``max_epochs`` bounds the run (a schedule
            over an endless run is undefined).
    """
    if trainer is None:
        raise ValueError("a learning-rate schedule needs the trainer (its max_steps or max_epochs)")
    total = trainer.estimated_stepping_batches
    if not math.isfinite(total):
        raise ValueError("the learning-rate schedule needs a bounded run: set trainer.max_steps (with "
                         "trainer.max_epochs=-1) or trainer.max_epochs")
    return max(1, int(total))


def warmup_cosine(optimizer: Optimizer, total_steps: int, warmup_steps: int = 50, min_factor: float = 0.02) -> LambdaLR:
    """Linear warm-up over ``warmup_steps``, then cosine decay to ``min_factor`` x the base
    rate at ``total_steps``.

    Args:
        optimizer: the optimizer.
        total_steps: optimisation steps of the whole run (:func:`scheduled_steps`).
        warmup_steps: steps of linear warm-up from 0.
        min_factor: final rate as a share of the base rate.
    """
    total_steps = max(int(total_steps), 1)
    warmup_steps = max(0, min(int(warmup_steps), total_steps - 1))

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return LambdaLR(optimizer, factor)
