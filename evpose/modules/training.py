"""What every evpose LightningModule does the same way: the weighted loss of a step and its
logs, batches a corruption refused, validation metrics, the optimiser and its schedule, and
what a checkpoint says about itself."""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch
from torch import nn

from ..data.loader import RefusedBatch
from ..data.node_inputs import NodeInputSpec
from .build import build
from .checkpoints import CHECKPOINT_FORMAT, CheckedLoading
from .schedules import scheduled_steps


class TrainingModule(CheckedLoading, L.LightningModule):
    """The training loop shared by :class:`~evpose.modules.PretrainModule` and
    :class:`~evpose.modules.FinetuneModule`; they say what is trained:

    - ``forward(batch)`` -> the outputs, ``losses(outs, batch)`` -> ``{term: loss}`` and
      ``loss_weight(term)``; the step's loss is the weighted sum, logged per term
      (``<stage>/<term_log_name(term)>``) and in total (``<stage>/loss``);
    - ``update_metrics(outs, batch)`` on validation batches, into :attr:`val_metrics`
      (``{log name: torchmetrics metric}``, nested dicts allowed), each logged as
      ``val/<log name>`` per epoch;
    - ``parameter_groups()``: what the optimiser trains (default: every parameter);
    - ``checkpoint_info()``: the ``evpose`` entry of a checkpoint beyond kind and format.

    A training batch of None (every window refused by a corruption) is a skipped step: it
    changes no weight, counts as a step (``global_step``, the schedule, ``max_steps``) and is
    counted in ``train/skipped_steps``. Under DDP every process skips a step in which any
    process has such a batch (:meth:`skip_step`), so that all make the same collective calls
    (logs, the gradient all-reduce) and none waits for another forever; Lightning alone would
    skip the batch on that process only, which then runs one step behind the others.
    A validation batch of None is left out. Hyperparameters
    ``optimizer`` and ``scheduler`` (plain specs) and ``input_spec`` (the node feature
    layout, :class:`evpose.data.NodeInputSpec`) are the subclass's to save.

    Attributes:
        loss_name: what the step's loss is called in errors (``"pretraining"``, ...).
        monitor_metric: the validation metric shown in the progress bar (or None).
    """

    loss_name: str = "training"
    monitor_metric: str | None = None

    def __init__(self):
        super().__init__()
        self.val_metrics = nn.ModuleDict()
        self._nothing_to_step = True  # no batch of the coming optimiser step was trained on yet

    @property
    def input_spec(self) -> NodeInputSpec:
        """The node feature layout the module was built for (from its hyperparameters)."""
        return NodeInputSpec.from_dict(self.hparams.input_spec)

    # ------------------------------------------------------------------ what subclasses give
    def losses(self, outs, batch) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def loss_weight(self, term: str) -> float:
        raise NotImplementedError

    def term_log_name(self, term: str) -> str:
        return f"loss_{term}"

    def update_metrics(self, outs, batch) -> None:
        pass

    def parameter_groups(self):
        return self.parameters()

    def checkpoint_info(self) -> dict[str, Any]:
        return {}

    # ------------------------------------------------------------------ steps
    def _step(self, batch, stage: str):
        outs = self(batch)
        losses = self.losses(outs, batch)
        total = sum(self.loss_weight(k) * v for k, v in losses.items())
        bs = int(batch.num_graphs)
        on_step = stage == "train"
        # sync_dist: under DDP the logged losses are the means over the processes (the global
        # batch's loss), not rank 0's share; a no-op in one process
        for k, v in losses.items():
            self.log(f"{stage}/{self.term_log_name(k)}", v, batch_size=bs, on_step=on_step, on_epoch=True, sync_dist=True)
        self.log(f"{stage}/loss", total, batch_size=bs, prog_bar=True, on_step=on_step, on_epoch=True, sync_dist=True)
        return outs, total

    def skip_step(self, batch) -> bool:
        """Whether this training step is skipped: this process's batch was refused
        (:class:`evpose.data.RefusedBatch`, or None) or, under DDP, any process's was (one all-reduce of a
        flag per step)."""
        skip = batch is None or isinstance(batch, RefusedBatch)
        trainer = self._trainer
        if trainer is not None and trainer.world_size > 1:
            flag = torch.tensor(float(skip), device=self.device)
            skip = bool(trainer.strategy.reduce(flag, reduce_op="sum") > 0)
        return skip

    def skipped_step_loss(self) -> torch.Tensor:
        """A zero loss that reaches every trained parameter: its backward gives DDP the
        gradients it all-reduces (zeros, dropped before the optimiser step)."""
        params = [p for p in self.parameters() if p.requires_grad]
        return torch.stack([p.sum() for p in params]).sum() * 0.0

    def training_step(self, batch, batch_idx):
        skipping = self.skip_step(batch)
        # an optimiser step changes nothing when every batch it accumulates was skipped
        self._nothing_to_step = skipping and self._nothing_to_step
        if skipping:
            # every process logs the same keys (without sync: no collective) and returns a loss
            self.log("train/skipped_steps", 1.0, reduce_fx="sum", on_step=False, on_epoch=True, batch_size=1)
            return self.skipped_step_loss()
        _, total = self._step(batch, "train")
        self.after_training_step(batch)
        if not torch.isfinite(total):
            raise FloatingPointError(f"{self.loss_name} loss is {total.item()} at step {self.global_step}")
        return total

    def on_before_optimizer_step(self, optimizer) -> None:
        # after the backward (and DDP's all-reduce), before clipping and the step: a parameter
        # without a gradient is left alone by the optimiser (weight decay and moments included)
        if self._nothing_to_step:
            for p in self.parameters():
                p.grad = None
        self._nothing_to_step = True  # the next accumulation starts empty

    def after_training_step(self, batch) -> None:
        """Called with every training batch after its step (default: nothing)."""

    def validation_step(self, batch, batch_idx):
        if batch is None:
            return
        outs, _ = self._step(batch, "val")
        self.update_metrics(outs, batch)

    def named_val_metrics(self, metrics: nn.ModuleDict | None = None, prefix: str = ""):
        """``(log name, metric)`` of every validation metric; nested dicts give
        ``<outer>/<inner>`` names."""
        for key, metric in (self.val_metrics if metrics is None else metrics).items():
            if isinstance(metric, nn.ModuleDict):
                yield from self.named_val_metrics(metric, f"{prefix}{key}/")
            else:
                yield f"{prefix}{key}", metric

    def on_validation_epoch_end(self):
        for key, metric in self.named_val_metrics():
            if metric.update_count == 0:
                continue
            value = metric.compute()
            if torch.is_tensor(value) and value.numel() == 1 and math.isfinite(float(value)):
                self.log(f"val/{key}", float(value), prog_bar=key == self.monitor_metric)
            metric.reset()

    # ------------------------------------------------------------------ optimisation
    def configure_optimizers(self):
        opt = build(self.hparams.optimizer)(self.parameter_groups())
        if not self.hparams.scheduler:
            return opt
        sched = build(self.hparams.scheduler)(opt, total_steps=scheduled_steps(self.trainer))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["evpose"] = {"kind": self.checkpoint_kind, "format": CHECKPOINT_FORMAT, **self.checkpoint_info()}
