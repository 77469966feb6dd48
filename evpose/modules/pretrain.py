"""Self-supervised pretraining of the graph-hourglass backbone on the pretext tasks."""

from __future__ import annotations

import logging
import math
from typing import Any

import lightning as L
import torch
from torch import nn

from .build import build, check_spec, to_plain
from .schedules import scheduled_steps
from .checkpoints import CheckedLoading

log = logging.getLogger(__name__)

#: Version of the checkpoint contents written by evpose's modules.
CHECKPOINT_FORMAT = 1


class PretrainModule(CheckedLoading, L.LightningModule):
    """Backbone + one head per enabled pretext task; the loss is the weighted sum of the
    task losses. Logs ``train/<task>/loss``, ``train/loss``, ``train/skipped`` (windows a
    corruption refused) and, per validation epoch, every task's metrics and baselines as
    ``val/<task>/<metric>``.

    Every argument is a plain value (dicts with ``_target_``), kept as hyperparameters, so
    ``PretrainModule.load_from_checkpoint(path)`` rebuilds the module from the file alone.
    Every spec must name evpose's own classes (:mod:`evpose.modules.build`); all are checked
    before anything is built.

    Args:
        backbone: spec of the backbone (:class:`evpose.models.RefinementStack`).
        tasks: ``{name: spec}`` of the enabled pretext tasks (:mod:`evpose.pretext`).
        optimizer: spec of a partial optimizer (e.g. AdamW), called with the parameters.
        scheduler: spec of a partial schedule, called with the optimizer and the total
            number of steps (:func:`evpose.modules.schedules.warmup_cosine`), or None.
        graph: spec of the graph transform the data used (kept for later use).
        config: the whole resolved run configuration (saved inside checkpoints).
    """

    checkpoint_kind = "pretrain"

    def __init__(
        self,
        backbone: dict,
        tasks: dict[str, dict],
        optimizer: dict,
        scheduler: dict | None = None,
        graph: dict | None = None,
        config: dict | None = None,
    ):
        super().__init__()
        backbone, tasks = to_plain(backbone), to_plain(tasks)
        if not tasks:
            raise ValueError("pretraining needs at least one pretext task")
        self.save_hyperparameters(
            {"backbone": backbone, "tasks": tasks, "optimizer": to_plain(optimizer), "scheduler": to_plain(scheduler),
             "graph": to_plain(graph), "config": to_plain(config)}
        )
        for name in ("backbone", "tasks", "optimizer", "scheduler", "graph"):
            check_spec(self.hparams[name], name)
        self.backbone = build(backbone)
        self.tasks = {name: build(spec) for name, spec in tasks.items()}
        self.heads = nn.ModuleDict({name: t.build_head(self.backbone.channels) for name, t in self.tasks.items()})
        self.val_metrics = nn.ModuleDict({name: t.make_metrics() for name, t in self.tasks.items()})

    # ------------------------------------------------------------------ forward
    def forward(self, batch) -> dict[str, dict[str, torch.Tensor]]:
        """Every task's head outputs on a batch of corrupted graphs."""
        feats = self.backbone(batch.x, batch.pos, batch.batch, batch.edge_index, batch.num_graphs,
                              cam_R=getattr(batch, "cam_R", None))
        return {name: task.forward_head(self.heads[name], feats, batch) for name, task in self.tasks.items()}

    def _losses(self, outs, batch) -> dict[str, torch.Tensor]:
        return {name: task.loss(outs[name], batch) for name, task in self.tasks.items()}

    def _step(self, batch, stage: str):
        outs = self(batch)
        losses = self._losses(outs, batch)
        total = sum(self.tasks[n].weight * l for n, l in losses.items())
        bs = int(batch.num_graphs)
        for name, l in losses.items():
            self.log(f"{stage}/{name}/loss", l, batch_size=bs, on_step=stage == "train", on_epoch=True)
        self.log(f"{stage}/loss", total, batch_size=bs, prog_bar=True, on_step=stage == "train", on_epoch=True)
        self.log(f"{stage}/skipped", float(getattr(batch, "num_skipped", 0)), batch_size=bs, reduce_fx="sum",
                 on_step=False, on_epoch=True)
        return outs, total

    def training_step(self, batch, batch_idx):
        if batch is None:  # every window of the batch was refused by a corruption
            return None
        _, total = self._step(batch, "train")
        if not torch.isfinite(total):
            raise FloatingPointError(f"pretraining loss is {total.item()} at step {self.global_step}")
        return total

    def validation_step(self, batch, batch_idx):
        if batch is None:
            return
        outs, _ = self._step(batch, "val")
        for name, task in self.tasks.items():
            task.update_metrics(self.val_metrics[name], outs[name], batch)

    def on_validation_epoch_end(self):
        for name, metrics in self.val_metrics.items():
            for key, metric in metrics.items():
                if getattr(metric, "_update_count", 1) == 0:
                    continue
                value = metric.compute()
                if torch.is_tensor(value) and value.numel() == 1 and math.isfinite(float(value)):
                    self.log(f"val/{name}/{key}", float(value))
                metric.reset()

    # ------------------------------------------------------------------ optimisation
    def configure_optimizers(self):
        opt = build(self.hparams.optimizer)(self.parameters())
        if not self.hparams.scheduler:
            return opt
        sched = build(self.hparams.scheduler)(opt, total_steps=scheduled_steps(self.trainer))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["evpose"] = {"kind": "pretrain", "format": CHECKPOINT_FORMAT, "tasks": list(self.tasks)}
