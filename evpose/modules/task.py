"""The one LightningModule of evpose: a backbone trained on an ordered list of tasks.

Pretraining is a list of pretext tasks (:mod:`evpose.pretext`), fine-tuning one of pose tasks
(:mod:`evpose.tasks`: 2D joints, 3D joints, parts); a list may mix both.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any, Sequence

import lightning as L
import torch
from torch import nn

from ..data.loader import RefusedBatch
from ..data.node_inputs import NodeInputSpec
from ..models.losses import stage_sum
from ..tasks import Task, TaskNet
from .build import build, check_spec, sized_backbone, to_plain
from .checkpoints import (
    CHECKPOINT_FORMAT,
    CheckedLoading,
    load_backbone_weights,
    upgrade_head_weights,
    upgrade_state_dict,
)
from .schedules import scheduled_steps

log = logging.getLogger(__name__)


class TaskModule(CheckedLoading, L.LightningModule):
    """A backbone and the heads of an ordered ``{name: task spec}`` (:attr:`net`, a
    :class:`~evpose.tasks.TaskNet`), trained on the weighted sum of the tasks' losses.

    The tasks are built once, here, from their specs (:attr:`tasks`, each with its encoder
    and loss weights): the data transform takes the same objects
    (``PretextTransform(graph, module.tasks)``). The heads run in the tasks' order; a head
    reading earlier tasks' outputs (the 3D joints read the 2D joints') declares it
    (:attr:`evpose.tasks.Task.needs`).

    Logs, per step and epoch: every loss term, ``<stage>/<task>/<term>`` (pretext tasks:
    ``train/inpaint/loss``) or ``<stage>/<term>`` (pose tasks: ``train/loss_joints2d``,
    ``train/loss_heatmap``, ``train/loss_rel_depth``, ``train/loss_root_depth``,
    ``train/loss_parts``), and the weighted sum ``<stage>/loss`` (means over the processes
    under DDP); ``<stage>/skipped`` (windows a corruption refused) when a task's encoder may
    refuse windows; per validation epoch every task's metrics and baselines,
    ``val/<task>/<metric>`` or ``val/<metric>`` (``val/mpjpe2d``, ``val/pck5``, ``val/pck10``,
    ``val/baseline_mpjpe2d_mean_pose``, ``val/mpjpe3d``, ``val/miou``). A term given per
    backbone stage (the pose heads' intermediate supervision) is summed over the stages with
    ``stage_weights``.

    A training batch of None (every window refused by a corruption) is a skipped step: it
    changes no weight, counts as a step (``global_step``, the schedule, ``max_steps``) and is
    counted in ``train/skipped_steps``. Under DDP every process skips a step in which any
    process has such a batch (:meth:`skip_step`), so that all make the same collective calls
    (logs, the gradient all-reduce) and none waits for another forever. (Lightning skips a None
    batch on its process alone, which then runs a step behind the others: the datamodule
    hands it on as :class:`evpose.data.RefusedBatch`.) A validation batch of None is left out.

    Every argument is a plain value (dicts with ``_target_``), kept as hyperparameters, so
    ``TaskModule.load_from_checkpoint(path)`` and :func:`evpose.load_estimator` rebuild the
    module from the file alone (older files are converted, :mod:`evpose.modules.checkpoints`).
    Every spec must name evpose's own classes (:mod:`evpose.modules.build`); all are checked
    before anything is built.

    Args:
        backbone: spec of the backbone (:class:`evpose.models.RefinementStack`), without
            ``in_channels``: the input spec sets it.
        input_spec: the node feature layout the data makes (``{"tore_k", "num_parts"}``,
            :class:`evpose.data.NodeInputSpec`; ``transform.input_spec.as_dict()``).
        tasks: ordered ``{name: spec}`` of the tasks (:mod:`evpose.pretext`, :mod:`evpose.tasks`),
            each with its loss weight(s).
        optimizer: spec of a partial optimizer (e.g. AdamW), called with the parameter groups.
        scheduler: spec of a partial schedule, called with the optimizer and the total
            number of steps (:func:`evpose.modules.schedules.warmup_cosine`), or None.
        graph: spec of the graph transform the data used (used again at inference).
        config: the whole resolved run configuration (saved inside checkpoints).
        stage_weights: weight of each backbone stage's loss, for the terms given per stage
            (default 1 each).
        freeze_backbone: train the heads only.
        freeze_backbone_steps: keep the backbone's weights fixed for the first this many
            optimisation steps, then train it too (linear probing, then fine-tuning: LP-FT,
            Kumar et al. 2022). During those steps its gradients are dropped before the
            optimiser step (and before gradient clipping, so the clipping norm is the heads');
            AdamW skips a parameter without a gradient, so neither the update nor the weight
            decay moves it and its moments start at the first step that trains it. The
            learning-rate schedule runs on over the frozen steps (the backbone joins at the
            rate the schedule has reached). 0: trained from the first step.
        backbone_lr_factor: the backbone's learning rate as a share of the heads' (e.g. 0.1
            for a pretrained backbone): the optimiser gets two groups, ``heads`` then
            ``backbone``. None: one group of every parameter (pretraining's).
        pretext_batch: the pretext tasks train on a batch of their own, beside the pose tasks
            (``evpose-finetune aux_pretext=[...]``: pretext losses on the unlabelled recordings).
            The rule: a training batch is ``{"pose": Batch, "pretext": Batch}``; the pose tasks
            run on ``"pose"`` (the labelled windows), the pretext tasks on ``"pretext"`` (the
            corrupted windows of the unlabelled recordings), one backbone pass each; a step is
            skipped when either is refused. Validation batches are plain pose batches, on which
            the pose tasks alone run (the pretext tasks are not validated). The module needs
            tasks of both kinds. False (default): every task runs on every (plain) batch.

    Attributes:
        checkpoint_kind: the kind of the checkpoints it writes: ``"finetune"`` when a task is
            a pose task (the module predicts poses: :func:`evpose.load_estimator` takes its
            checkpoints), else ``"pretrain"`` (``load_from_checkpoint(path, kind=...)`` accepts
            one kind only).
    """

    def __init__(
        self,
        backbone: dict,
        input_spec: dict | NodeInputSpec,
        tasks: dict[str, dict],
        optimizer: dict,
        scheduler: dict | None = None,
        graph: dict | None = None,
        config: dict | None = None,
        stage_weights: Sequence[float] | None = None,
        freeze_backbone: bool = False,
        freeze_backbone_steps: int = 0,
        backbone_lr_factor: float | None = None,
        pretext_batch: bool = False,
    ):
        super().__init__()
        backbone, tasks = to_plain(backbone), to_plain(tasks)
        inputs = NodeInputSpec.from_dict(to_plain(input_spec))
        if not tasks:
            raise ValueError("a TaskModule needs at least one task")
        if backbone_lr_factor is not None and backbone_lr_factor <= 0:
            raise ValueError(f"backbone_lr_factor must be > 0, got {backbone_lr_factor}")
        if int(freeze_backbone_steps) != freeze_backbone_steps or freeze_backbone_steps < 0:
            raise ValueError(f"freeze_backbone_steps must be an integer >= 0, got {freeze_backbone_steps}")
        if freeze_backbone and freeze_backbone_steps:
            raise ValueError("freeze_backbone=true freezes the backbone for the whole run; "
                             "freeze_backbone_steps is for a frozen start only (set one of them)")
        stage_weights = to_plain(stage_weights)
        self.save_hyperparameters(
            {"backbone": backbone, "input_spec": inputs.as_dict(), "tasks": tasks, "optimizer": to_plain(optimizer),
             "scheduler": to_plain(scheduler), "graph": to_plain(graph), "config": to_plain(config),
             "stage_weights": None if stage_weights is None else [float(w) for w in stage_weights],
             "freeze_backbone": bool(freeze_backbone), "freeze_backbone_steps": int(freeze_backbone_steps),
             "backbone_lr_factor": None if backbone_lr_factor is None else float(backbone_lr_factor),
             **({"pretext_batch": True} if pretext_batch else {})}
        )
        for name in ("backbone", "tasks", "optimizer", "scheduler", "graph"):
            check_spec(self.hparams[name], name)
        built = build(sized_backbone(backbone, inputs.channels))
        #: ``{name: Task}``: each task's encoder (for the data transform) and loss weights
        self.tasks: dict[str, Task] = {name: build(spec) for name, spec in tasks.items()}
        self.net = TaskNet(built, self.tasks)
        if stage_weights is not None and len(stage_weights) != built.num_stages:
            raise ValueError(f"{built.num_stages} stages but {len(stage_weights)} stage weights")
        self.val_metrics = nn.ModuleDict({name: head.metrics() for name, head in self.net.heads.items()})
        self._check_log_names()
        self.checkpoint_kind = "finetune" if any(t.kind == "pose" for t in self.tasks.values()) else "pretrain"
        self.loss_name = "fine-tuning" if self.checkpoint_kind == "finetune" else "pretraining"
        self.monitor_metric = next((t.monitor_metric for t in self.tasks.values() if t.monitor_metric), None)
        self.logs_skipped = any(t.encoder.refuses_windows for t in self.tasks.values())
        self.pretext_batch = bool(pretext_batch)
        if self.pretext_batch:
            kinds = {t.kind for t in self.tasks.values()}
            if kinds != {"pose", "pretext"}:
                raise ValueError(f"pretext_batch=True needs pose and pretext tasks, got kinds {sorted(kinds)} "
                                 f"({', '.join(self.tasks)})")
        if freeze_backbone:
            self.net.backbone.requires_grad_(False)
        if not any(t.reads_maps for t in self.tasks.values()) and hasattr(self.net.backbone, "to_maps"):
            # the last stage's joint maps feed only heads that read them (the 2D joints'): no
            # loss here reaches them, so they are kept out of the gradient (DDP reduces only
            # parameters that require one, and refuses one that does but gets none); the
            # optimiser still holds them (parameter_groups), and never moves them
            self.net.backbone.to_maps[-1].requires_grad_(False)
        self._nothing_to_step = True  # no batch of the coming optimiser step was trained on yet
        self.pretrained_report: dict | None = None

    # ------------------------------------------------------------------ what is trained
    @property
    def input_spec(self) -> NodeInputSpec:
        """The node feature layout the module was built for (from its hyperparameters)."""
        return NodeInputSpec.from_dict(self.hparams.input_spec)

    @property
    def backbone(self) -> nn.Module:
        return self.net.backbone

    @property
    def heads(self) -> nn.ModuleDict:
        """``{task: head}``."""
        return self.net.heads

    @property
    def output_levels(self) -> dict[str, dict[str, str]]:
        """``{task: {output: level}}`` of the heads' outputs (:func:`evpose.viz.unbatch_window`)."""
        return {name: dict(head.outputs) for name, head in self.net.heads.items()}

    def log_name(self, task: str, name: str) -> str:
        """What a task's loss term or metric is logged as (after ``<stage>/``)."""
        return f"{task}/{name}" if self.tasks[task].namespaced else name

    def _check_log_names(self) -> None:
        seen: dict[str, str] = {}
        for task, t in self.tasks.items():
            for name in [*t.loss_weights, *self.val_metrics[task]]:
                log_name = self.log_name(task, name)
                clash = seen.get(log_name)
                if clash is not None or log_name in ("loss", "skipped") or (not t.namespaced and log_name in self.tasks):
                    raise ValueError(f"task {task!r} would log {log_name!r}, as {clash or 'the module'} does; "
                                     "rename a task")
                seen[log_name] = f"task {task!r}"

    def load_pretrained_backbone(self, path) -> dict:
        """Initialise the backbone from a pretraining (or fine-tuning) checkpoint; missing and
        unexpected keys are reported, a shape mismatch is an error naming the key."""
        self.pretrained_report = load_backbone_weights(self.net.backbone, path)
        return self.pretrained_report

    # ------------------------------------------------------------------ steps
    def forward(self, batch) -> dict[str, dict[str, torch.Tensor]]:
        """Every task's head outputs on a batch."""
        return self.net(batch)

    def losses(self, outs, batch) -> dict[str, tuple[float, torch.Tensor]]:
        """``{log name: (weight, loss)}`` of the loss terms of every task in ``outs`` (all of
        them by default), in the tasks' order; per-stage terms summed over the stages with
        the stage weights."""
        terms = {}
        for name, head in self.net.heads.items():
            if name not in outs:
                continue
            weights = self.tasks[name].loss_weights
            values = head.losses(outs[name], batch)
            if values.keys() != weights.keys():
                # every step logs every term (under DDP the processes' logged keys must agree)
                raise ValueError(f"task {name!r}: its head returned the loss terms {sorted(values)}, "
                                 f"its loss_weights name {sorted(weights)}")
            for term, value in values.items():
                if isinstance(value, (list, tuple)):
                    value = stage_sum(value, self.hparams.stage_weights)
                terms[self.log_name(name, term)] = (weights[term], value)
        return terms

    @property
    def pose_task_names(self) -> list[str]:
        """The pose tasks, in order (with ``pretext_batch``: the tasks of the labelled batch)."""
        return [n for n, t in self.tasks.items() if t.kind == "pose"]

    def task_batches(self, batch, stage: str) -> list[tuple[list[str] | None, Any]]:
        """``[(tasks, batch)]``: which tasks run on which batch of a step (None: every task).
        See ``pretext_batch``."""
        if not self.pretext_batch:
            if isinstance(batch, dict):
                raise TypeError("a batch of several parts needs a module built with pretext_batch=True")
            return [(None, batch)]
        pose = self.pose_task_names
        if stage != "train":
            return [(pose, batch["pose"] if isinstance(batch, dict) else batch)]
        if not isinstance(batch, dict) or set(batch) != {"pose", "pretext"}:
            raise TypeError(f"pretext_batch=True: a training batch is {{'pose': ..., 'pretext': ...}}, got "
                            f"{sorted(batch) if isinstance(batch, dict) else type(batch).__name__}")
        return [(pose, batch["pose"]), ([n for n in self.tasks if n not in pose], batch["pretext"])]

    def loss_log_names(self, stage: str) -> list[str]:
        """The loss keys a step of ``stage`` logs (after ``<stage>/``): every loss term of the
        tasks that run on that stage's batches, then ``loss``."""
        names = self.pose_task_names if self.pretext_batch and stage != "train" else list(self.tasks)
        return [self.log_name(n, term) for n in names for term in self.tasks[n].loss_weights] + ["loss"]

    def _step(self, batch, stage: str):
        """Outputs, losses and logs of a step; returns ``([(outs, batch)], total loss)``."""
        parts, losses, sizes = [], {}, {}
        for names, part in self.task_batches(batch, stage):
            outs = self.net(part, names)
            parts.append((outs, part))
            for k, v in self.losses(outs, part).items():
                losses[k], sizes[k] = v, int(part.num_graphs)
        total = sum(w * v for w, v in losses.values())
        bs = int(parts[0][1].num_graphs)  # the first (the pose) batch's
        on_step = stage == "train"
        # sync_dist: under DDP the logged losses are the means over the processes (the global
        # batch's loss), not rank 0's share; a no-op in one process
        for k, (_, v) in losses.items():
            self.log(f"{stage}/{k}", v, batch_size=sizes[k], on_step=on_step, on_epoch=True, sync_dist=True)
        self.log(f"{stage}/loss", total, batch_size=bs, prog_bar=True, on_step=on_step, on_epoch=True, sync_dist=True)
        if self.logs_skipped:
            skipped = sum(float(getattr(part, "num_skipped", 0)) for _, part in parts)
            self.log(f"{stage}/skipped", skipped, batch_size=bs, reduce_fx="sum", on_step=False, on_epoch=True)
        return parts, total

    def skip_step(self, batch) -> bool:
        """Whether this training step is skipped: this process's batch was refused
        (:class:`evpose.data.RefusedBatch`, or None) or, under DDP, any process's was (one
        all-reduce of a flag per step)."""
        parts = batch.values() if isinstance(batch, dict) else [batch]
        skip = any(b is None or isinstance(b, RefusedBatch) for b in parts)
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
        parts, total = self._step(batch, "train")
        for outs, part in parts:
            for name in outs:
                self.net.heads[name].observe_training_batch(part, self.current_epoch)
        if not torch.isfinite(total):
            raise FloatingPointError(f"{self.loss_name} loss is {total.item()} at step {self.global_step}")
        return total

    def validation_step(self, batch, batch_idx):
        if batch is None:
            self._log_empty_validation_batch()
            return
        parts, _ = self._step(batch, "val")
        for outs, part in parts:
            for name, out in outs.items():
                self.net.heads[name].update_metrics(self.val_metrics[name], out, part)

    def _log_empty_validation_batch(self) -> None:
        """Under DDP, a validation batch whose every window was refused logs every loss key
        with weight zero: Lightning syncs each logged key at the epoch's end, so every process
        must hold the same keys (a process whose batches were all refused would otherwise wait
        for, or lack, the others' keys). The epoch's means are those of the windows validated;
        in one process nothing is logged."""
        if self._trainer is None or self.trainer.world_size <= 1:
            return
        for key in self.loss_log_names("val"):
            self.log(f"val/{key}", 0.0, batch_size=0, prog_bar=key == "loss", on_step=False, on_epoch=True,
                     sync_dist=True)

    def on_validation_epoch_start(self):
        def reduce(t: torch.Tensor) -> torch.Tensor:
            if self.trainer is not None and self.trainer.world_size > 1:
                return self.trainer.strategy.reduce(t.clone(), reduce_op="sum")
            return t

        for head in self.net.heads.values():
            head.on_validation_start(reduce)

    def named_val_metrics(self):
        """``(log name, metric)`` of every validation metric."""
        for task, metrics in self.val_metrics.items():
            for key, metric in metrics.items():
                yield self.log_name(task, key), metric

    def validated_metrics(self) -> list[bool]:
        """Per :meth:`named_val_metrics`: whether any window updated it this epoch, in any
        process (under DDP one all-reduce of the counts: a process whose windows were all
        refused still computes, i.e. syncs, every metric the others compute)."""
        counts = torch.tensor([float(m.update_count) for _, m in self.named_val_metrics()], device=self.device)
        if self._trainer is not None and self.trainer.world_size > 1 and len(counts):
            counts = self.trainer.strategy.reduce(counts, reduce_op="sum")
        return [bool(c > 0) for c in counts]

    def on_validation_epoch_end(self):
        for (key, metric), validated in zip(list(self.named_val_metrics()), self.validated_metrics()):
            if not validated:
                continue
            with warnings.catch_warnings():
                # under DDP a process that validated no window computes too (the sync), from
                # the states the others gathered to it
                warnings.filterwarnings("ignore", message=".*was called before the ``update`` method")
                value = metric.compute()
            if torch.is_tensor(value) and value.numel() == 1 and math.isfinite(float(value)):
                self.log(f"val/{key}", float(value), prog_bar=key == self.monitor_metric)
            metric.reset()

    # ------------------------------------------------------------------ optimisation
    def parameter_groups(self):
        """With ``backbone_lr_factor``: the heads at the optimiser's rate, the backbone (unless
        frozen) at that share of it; without: one group of every parameter."""
        if self.hparams.backbone_lr_factor is None:
            # every parameter, those without gradient too (the optimiser skips them; its state's
            # layout is that of older checkpoints, so they resume)
            return list(self.parameters())
        backbone = [p for p in self.net.backbone.parameters() if p.requires_grad]
        heads = [p for n, p in self.net.named_parameters() if not n.startswith("backbone.") and p.requires_grad]
        groups = [{"params": heads, "name": "heads"}]
        if backbone:
            base_lr = build(self.hparams.optimizer).keywords.get("lr", 1e-3)
            groups.append({"params": backbone, "lr": base_lr * self.hparams.backbone_lr_factor, "name": "backbone"})
        return groups

    def configure_optimizers(self):
        opt = build(self.hparams.optimizer)(self.parameter_groups())
        if not self.hparams.scheduler:
            return opt
        sched = build(self.hparams.scheduler)(opt, total_steps=scheduled_steps(self.trainer))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def backbone_frozen_now(self) -> bool:
        """Whether the coming optimisation step leaves the backbone as it is
        (``freeze_backbone_steps``; not ``freeze_backbone``, whose backbone the optimiser never holds)."""
        return self.global_step < self.hparams.freeze_backbone_steps

    def on_before_optimizer_step(self, optimizer) -> None:
        # after the backward (and DDP's gradient averaging: every process drops the same
        # gradients), before clipping and the step: a parameter without a gradient is skipped
        # by the optimiser, weight decay and moments included
        if self._nothing_to_step:  # every batch of this step was skipped
            for p in self.parameters():
                p.grad = None
        self._nothing_to_step = True  # the next accumulation starts empty
        if self.backbone_frozen_now():
            for p in self.net.backbone.parameters():
                p.grad = None

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["evpose"] = {"kind": self.checkpoint_kind, "format": CHECKPOINT_FORMAT, "tasks": list(self.tasks),
                                "pretrained": self.pretrained_report is not None}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Checkpoints before format 4 kept other state-dict keys (:func:`upgrade_state_dict`);
        pretraining checkpoints before format 3 kept a head that was its network alone under
        ``heads.<task>.``, whose weights move to where the head keeps that network now
        (:attr:`evpose.tasks.TaskHead.format2_prefix`)."""
        prefixes = {name: head.format2_prefix for name, head in self.net.heads.items()}
        expected = {k[len("net."):] for k in self.state_dict() if k.startswith("net.")}
        upgrade_head_weights(checkpoint, prefixes, expected)
        upgrade_state_dict(checkpoint)
