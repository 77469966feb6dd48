"""A callback for the DDP test: what every process trained on and computed, step by step."""

from __future__ import annotations

import lightning as L
import torch


class StepProbe(L.Callback):
    """Per optimizer step of this process: the 2D joints of its windows (which windows),
    its training loss, and the gradients the optimizer steps with (under DDP, after the
    all-reduce); saved to ``<out>.rank<r>.pt`` when training ends.

    Args:
        out: path prefix of the saved records.
    """

    def __init__(self, out: str):
        self.out = out
        self.steps: list[dict] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.current = {"joints2d": batch.joints2d.detach().clone()}

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        self.current["grad"] = {n: p.grad.detach().clone() for n, p in pl_module.named_parameters()
                                if p.grad is not None}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.current["loss"] = float(outputs["loss"])
        self.steps.append(self.current)

    def on_train_end(self, trainer, pl_module):
        torch.save(self.steps, f"{self.out}.rank{trainer.global_rank}.pt")
