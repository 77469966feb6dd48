"""Self-supervised pretraining of the graph-hourglass backbone on the pretext tasks."""

from __future__ import annotations

import logging

import torch
from torch import nn

from ..data.node_inputs import NodeInputSpec
from .build import build, check_spec, sized_backbone, to_plain
from .checkpoints import CHECKPOINT_FORMAT, upgrade_head_weights  # noqa: F401  (kept importable from here)
from .training import TrainingModule

log = logging.getLogger(__name__)


class PretrainModule(TrainingModule):
    """Backbone + the head of every enabled pretext task; the loss is the weighted sum of the
    task losses. The tasks are built once, here, from their specs (:attr:`tasks`, each with its
    encoder and weight; their heads in :attr:`heads`): the data transform takes the same
    objects (``PretextTransform(graph, module.tasks)``). Logs ``train/<task>/loss``,
    ``train/loss``, ``train/skipped`` (windows a corruption refused) and, per validation
    epoch, every task's metrics and baselines as ``val/<task>/<metric>``.

    Every argument is a plain value (dicts with ``_target_``), kept as hyperparameters, so
    ``PretrainModule.load_from_checkpoint(path)`` rebuilds the module from the file alone.
    Every spec must name evpose's own classes (:mod:`evpose.modules.build`); all are checked
    before anything is built.

    Args:
        backbone: spec of the backbone (:class:`evpose.models.RefinementStack`), without
            ``in_channels``: the input spec sets it.
        input_spec: the node feature layout the data makes (``{"tore_k", "num_parts"}``,
            :class:`evpose.data.NodeInputSpec`; ``transform.input_spec.as_dict()``).
        tasks: ``{name: spec}`` of the enabled pretext tasks (:mod:`evpose.pretext`).
        optimizer: spec of a partial optimizer (e.g. AdamW), called with the parameters.
        scheduler: spec of a partial schedule, called with the optimizer and the total
            number of steps (:func:`evpose.modules.schedules.warmup_cosine`), or None.
        graph: spec of the graph transform the data used (kept for later use).
        config: the whole resolved run configuration (saved inside checkpoints).
    """

    checkpoint_kind = "pretrain"
    loss_name = "pretraining"

    def __init__(
        self,
        backbone: dict,
        input_spec: dict | NodeInputSpec,
        tasks: dict[str, dict],
        optimizer: dict,
        scheduler: dict | None = None,
        graph: dict | None = None,
        config: dict | None = None,
    ):
        super().__init__()
        backbone, tasks = to_plain(backbone), to_plain(tasks)
        inputs = NodeInputSpec.from_dict(to_plain(input_spec))
        if not tasks:
            raise ValueError("pretraining needs at least one pretext task")
        self.save_hyperparameters(
            {"backbone": backbone, "input_spec": inputs.as_dict(), "tasks": tasks, "optimizer": to_plain(optimizer),
             "scheduler": to_plain(scheduler), "graph": to_plain(graph), "config": to_plain(config)}
        )
        for name in ("backbone", "tasks", "optimizer", "scheduler", "graph"):
            check_spec(self.hparams[name], name)
        self.backbone = build(sized_backbone(backbone, inputs.channels))
        # the last stage's joint maps feed the pose heads only: no pretext loss reaches them, so
        # they are kept out of the gradient (DDP reduces only parameters that require one, and
        # refuses a parameter that does but gets none); the optimiser still holds them (its
        # state's layout, and resuming older checkpoints, unchanged), and never moves them
        self.backbone.to_maps[-1].requires_grad_(False)
        #: ``{name: PretextTask}``: each task's encoder (for the data transform) and weight
        self.tasks = {name: build(spec) for name, spec in tasks.items()}
        self.heads = nn.ModuleDict({name: t.build_head(self.backbone.channels) for name, t in self.tasks.items()})
        self.val_metrics = nn.ModuleDict({name: head.metrics() for name, head in self.heads.items()})

    @property
    def output_levels(self) -> dict[str, dict[str, str]]:
        """``{task: {output: level}}`` of the heads' outputs (:func:`evpose.viz.unbatch_window`)."""
        return {name: dict(head.outputs) for name, head in self.heads.items()}

    # ------------------------------------------------------------------ forward
    def forward(self, batch) -> dict[str, dict[str, torch.Tensor]]:
        """Every task's head outputs on a batch of corrupted graphs."""
        feats = self.backbone(batch.x, batch.pos, batch.batch, batch.edge_index, batch.num_graphs,
                              cam_R=getattr(batch, "cam_R", None))
        return {name: head(feats, batch) for name, head in self.heads.items()}

    def losses(self, outs, batch) -> dict[str, torch.Tensor]:
        return {name: head.loss(outs[name], batch) for name, head in self.heads.items()}

    def loss_weight(self, term: str) -> float:
        return self.tasks[term].weight

    def term_log_name(self, term: str) -> str:
        return f"{term}/loss"

    def _step(self, batch, stage: str):
        outs, total = super()._step(batch, stage)
        self.log(f"{stage}/skipped", float(getattr(batch, "num_skipped", 0)), batch_size=int(batch.num_graphs),
                 reduce_fx="sum", on_step=False, on_epoch=True)
        return outs, total

    def update_metrics(self, outs, batch) -> None:
        for name, head in self.heads.items():
            head.update_metrics(self.val_metrics[name], outs[name], batch)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """Checkpoints before format 3 kept a head that was its network alone under
        ``heads.<task>.``; its weights move to where the head keeps that network now
        (:attr:`evpose.pretext.TaskHead.format2_prefix`)."""
        prefixes = {name: head.format2_prefix for name, head in self.heads.items()}
        upgrade_head_weights(checkpoint, prefixes, self.state_dict().keys())

    def checkpoint_info(self) -> dict:
        return {"tasks": list(self.tasks)}
