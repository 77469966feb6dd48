"""What every evpose LightningModule does the same way: the weighted loss of a step and its
logs, batches a corruption refused, validation metrics, the optimiser and its schedule, and
what a checkpoint says about itself."""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch
from torch import nn

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

    A batch of None (every window refused by a corruption) is skipped. Hyperparameters
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

    def training_step(self, batch, batch_idx):
        if batch is None:  # every window of the batch was refused by a corruption
            return None
        _, total = self._step(batch, "train")
        self.after_training_step(batch)
        if not torch.isfinite(total):
            raise FloatingPointError(f"{self.loss_name} loss is {total.item()} at step {self.global_step}")
        return total

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
