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


def _base_dataset(ds):
    """The dataset under Subset and cache wrappers (the one with the transform)."""
    while not hasattr(ds, "transform") and hasattr(ds, "dataset"):
        ds = ds.dataset
    return ds


class RefusedBatchProbe(L.Callback):
    """Makes this run's training transform refuse chosen samples of one process (as a
    corruption refuses a window: the sample becomes None; with batch size 1 the batch is None)
    and records per training batch whether the batch was None, whether the step changed any
    weight, and the global step after it; saved to ``<out>.rank<r>.pt`` when training ends.

    Args:
        out: path prefix of the saved records.
        rank: the process whose samples are refused.
        refuse: the indices of the refused samples, counted in the order that process's
            training transform is called.
    """

    def __init__(self, out: str, rank: int = 0, refuse: tuple[int, ...] = (1,)):
        self.out, self.rank, self.refuse = out, int(rank), set(refuse)
        self.steps: list[dict] = []

    def setup(self, trainer, pl_module, stage):
        if stage != "fit" or trainer.global_rank != self.rank:
            return
        ds = _base_dataset(trainer.datamodule.dataset("train"))
        transform, calls = ds.transform, iter(range(10**9))

        def refusing(sample):
            out = transform(sample)
            return None if next(calls) in self.refuse else out

        ds.transform = refusing

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.before = [p.detach().clone() for p in pl_module.parameters()]
        self.current = {"none": batch is None or batch.num_graphs == 0}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.current["changed"] = any(not torch.equal(a, p) for a, p in zip(self.before, pl_module.parameters()))
        self.current["global_step"] = int(trainer.global_step)
        self.steps.append(self.current)

    def on_train_end(self, trainer, pl_module):
        torch.save(self.steps, f"{self.out}.rank{trainer.global_rank}.pt")


class RefusedValidationProbe(L.Callback):
    """Makes one process's validation transform refuse every sample, so that every
    validation batch of that process is None (a validation shard whose windows a corruption
    or a filter all refused) while the other processes validate as usual.

    Args:
        rank: the process whose validation samples are refused.
    """

    def __init__(self, rank: int = 1):
        self.rank = int(rank)

    def setup(self, trainer, pl_module, stage):
        if stage != "fit" or trainer.global_rank != self.rank:
            return
        _base_dataset(trainer.datamodule.dataset("val")).transform = lambda sample: None
