"""Fine-tuning the pose network (2D joints, 3D joints, body parts) with intermediate supervision."""

from __future__ import annotations

import logging
from typing import Sequence

import torch

from ..data.node_inputs import NodeInputSpec
from ..geometry import project_points, world_to_camera
from ..metrics import JointErrorMetric, PartIoUMetric
from ..models.losses import (
    heatmap_log_targets,
    heatmap_loss,
    joint_loss,
    log_depth_loss,
    part_loss,
    part_targets,
    stage_sum,
)
from ..types import ROOT_JOINTS
from .build import build, check_spec, sized_backbone, to_plain
from .checkpoints import load_backbone_weights
from .training import TrainingModule

log = logging.getLogger(__name__)

#: Default loss weights: 2D joints (px), root-relative depth (per 100 mm), root depth
#: (log ratio), body parts (cross-entropy).
DEFAULT_LOSS_WEIGHTS = {"joints2d": 1.0, "heatmap": 10.0, "rel_depth": 1.0, "root_depth": 5.0, "parts": 1.0}


def build_pose_net(net: dict, input_spec: dict | NodeInputSpec):
    """The :class:`~evpose.models.PoseNet` of a plain spec, its backbone as wide as the node
    features of ``input_spec``.

    Raises:
        ValueError: a spec without a backbone spec, or one naming another ``in_channels``.
    """
    if not isinstance(net, dict) or not isinstance(net.get("backbone"), dict):
        raise ValueError(f"net: expected a PoseNet spec with a backbone spec, got {net!r}")
    channels = NodeInputSpec.from_dict(input_spec).channels
    return build({**net, "backbone": sized_backbone(net["backbone"], channels, "net.backbone")})


def pose_targets(batch, root_joints: Sequence[int]) -> dict[str, torch.Tensor]:
    """Targets of the pose heads from a batch's window labels.

    Returns ``joints2d`` (B, K, 2), ``w2d`` (B, K) visibility, ``rel_depth`` (B, K) mm from
    the root, ``w_rel`` (B, K), ``root_depth`` (B,), ``w_root`` (B,).
    """
    depth = batch.depth
    valid = batch.valid3d & torch.isfinite(depth)
    root = list(root_joints)
    root_ok = valid[:, root].all(dim=1)
    root_depth = torch.where(root_ok, torch.nan_to_num(depth[:, root]).mean(dim=1), torch.zeros_like(depth[:, 0]))
    rel = torch.nan_to_num(depth) - root_depth[:, None]
    w_rel = (valid & root_ok[:, None]).float()
    return {
        "joints2d": batch.joints2d,
        "w2d": batch.visible.float(),
        "rel_depth": rel,
        "w_rel": w_rel,
        "root_depth": root_depth,
        "w_root": root_ok.float(),
    }


class FinetuneModule(TrainingModule):
    """Train :class:`evpose.models.PoseNet` on labelled windows.

    The loss of every stage is ``w_2d * L1(2D joints, px) + w_heatmap * KL(node heatmaps) +
    w_rel * L1(root-relative depth, per 100 mm) + w_root * |ln Z_root - ln Z_root*| + w_parts *
    CE(parts)``, summed over the stages with ``stage_weights`` (intermediate supervision). The
    heatmap term is the KL divergence of each joint's node distribution (the soft-argmax's
    probabilities) from a Gaussian of each node's distance to the labelled joint
    (:func:`~evpose.models.losses.heatmap_loss`): a direct, per-node signal where the integral
    loss alone moves probability mass in almost any direction that shifts the mean.
    Validation logs MPJPE 2D (px), MPJPE 3D (mm, the monocular 3D head), PCK@5/10 px, part
    mIoU and the mean-pose baseline's MPJPE 2D (``val/baseline_mpjpe2d_mean_pose``, the mean
    3D pose of the training windows of the first epoch projected into each window's camera)
    as ``val/...``.

    Every argument is a plain value (dicts with ``_target_``), kept as hyperparameters, so
    ``FinetuneModule.load_from_checkpoint(path)`` and :func:`evpose.load_estimator` rebuild
    the network from the checkpoint alone. Every spec must name evpose's own classes
    (:mod:`evpose.modules.build`); all are checked before anything is built.

    Args:
        net: spec of the :class:`~evpose.models.PoseNet` (with its backbone spec, without
            ``in_channels``: the input spec sets it).
        input_spec: the node feature layout the data makes (``{"tore_k", "num_parts"}``,
            :class:`evpose.data.NodeInputSpec`; ``transform.input_spec.as_dict()``).
        optimizer: spec of a partial optimizer.
        scheduler: spec of a partial schedule (called with the optimizer and the total steps), or None.
        loss_weights: weights of ``joints2d``, ``heatmap``, ``rel_depth``, ``root_depth``, ``parts``.
        stage_weights: weight of each stage's loss (default 1 each).
        joint_loss_kind: ``"l1"``, ``"smooth_l1"`` or ``"l2"`` for the 2D joints.
        heatmap_sigma_px: the standard deviation of the heatmap targets (px).
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
            for a pretrained backbone).
        graph: spec of the graph transform (used again at inference).
        config: the whole resolved run configuration.
    """

    checkpoint_kind = "finetune"
    loss_name = "fine-tuning"
    monitor_metric = "mpjpe2d"

    def __init__(
        self,
        net: dict,
        input_spec: dict | NodeInputSpec,
        optimizer: dict,
        scheduler: dict | None = None,
        loss_weights: dict | None = None,
        stage_weights: Sequence[float] | None = None,
        joint_loss_kind: str = "l1",
        heatmap_sigma_px: float = 4.0,
        freeze_backbone: bool = False,
        backbone_lr_factor: float = 1.0,
        graph: dict | None = None,
        config: dict | None = None,
        freeze_backbone_steps: int = 0,
    ):
        super().__init__()
        weights = {**DEFAULT_LOSS_WEIGHTS, **(to_plain(loss_weights) or {})}
        unknown = sorted(set(weights) - set(DEFAULT_LOSS_WEIGHTS))
        if unknown:
            raise ValueError(f"unknown loss weight(s) {unknown}; valid: {', '.join(DEFAULT_LOSS_WEIGHTS)}")
        if backbone_lr_factor <= 0:
            raise ValueError(f"backbone_lr_factor must be > 0, got {backbone_lr_factor}")
        if int(freeze_backbone_steps) != freeze_backbone_steps or freeze_backbone_steps < 0:
            raise ValueError(f"freeze_backbone_steps must be an integer >= 0, got {freeze_backbone_steps}")
        if freeze_backbone and freeze_backbone_steps:
            raise ValueError("freeze_backbone=true freezes the backbone for the whole run; "
                             "freeze_backbone_steps is for a frozen start only (set one of them)")
        net = to_plain(net)
        inputs = NodeInputSpec.from_dict(to_plain(input_spec))
        self.save_hyperparameters(
            {"net": net, "input_spec": inputs.as_dict(), "optimizer": to_plain(optimizer), "scheduler": to_plain(scheduler),
             "loss_weights": weights, "stage_weights": to_plain(stage_weights), "joint_loss_kind": joint_loss_kind,
             "heatmap_sigma_px": float(heatmap_sigma_px),
             "freeze_backbone": bool(freeze_backbone), "freeze_backbone_steps": int(freeze_backbone_steps),
             "backbone_lr_factor": float(backbone_lr_factor),
             "graph": to_plain(graph), "config": to_plain(config)}
        )
        for name in ("net", "optimizer", "scheduler", "graph"):
            check_spec(self.hparams[name], name)
        self.net = build_pose_net(net, inputs)
        K, P = self.net.num_joints, self.net.num_parts
        self.root_joints = list(self.net.joints3d[0].root_joints) if self.net.joints3d is not None else list(ROOT_JOINTS)
        self.val_metrics = torch.nn.ModuleDict(
            {
                "mpjpe2d": JointErrorMetric("mpjpe", K),
                "pck5": JointErrorMetric("pck", K, threshold=5.0),
                "pck10": JointErrorMetric("pck", K, threshold=10.0),
                "mpjpe3d": JointErrorMetric("mpjpe", K),
                "baseline_mpjpe2d_mean_pose": JointErrorMetric("mpjpe", K),
            }
        )
        # the mean 3D pose of the training windows seen so far (world mm): the mean-pose
        # baseline logged next to the validation MPJPE (exact once an epoch has passed).
        # This process's sums, on the batches' device (no host copy per training step; not
        # saved); plain tensors, not buffers, which DDP would overwrite with rank 0's at every
        # forward. Validation uses the sums over all processes (_pose_mean).
        self._pose_sum = torch.zeros(K, 3, dtype=torch.float64)
        self._pose_count = torch.zeros(K, dtype=torch.float64)
        self._pose_mean: torch.Tensor | None = None
        if P > 0:
            self.val_metrics["miou"] = PartIoUMetric(P + 1)
        if freeze_backbone:
            self.net.backbone.requires_grad_(False)
        self.pretrained_report: dict | None = None

    # ------------------------------------------------------------------ weights
    def load_pretrained_backbone(self, path) -> dict:
        """Initialise the backbone from a pretraining (or fine-tuning) checkpoint; missing and
        unexpected keys are reported, a shape mismatch is an error naming the key."""
        self.pretrained_report = load_backbone_weights(self.net.backbone, path)
        return self.pretrained_report

    # ------------------------------------------------------------------ steps
    def forward(self, batch):
        return self.net(batch)

    def losses(self, outs, batch) -> dict[str, torch.Tensor]:
        """Per-term losses, each summed over the stages with the stage weights."""
        tg = pose_targets(batch, self.root_joints)
        terms: dict[str, list[torch.Tensor]] = {k: [] for k in DEFAULT_LOSS_WEIGHTS}
        use_heatmap = self.hparams.loss_weights.get("heatmap", 0.0) > 0
        if use_heatmap:
            node_batch = batch.batch if getattr(batch, "batch", None) is not None else batch.pos.new_zeros(
                batch.num_nodes, dtype=torch.long)
            log_q = heatmap_log_targets(batch.pos[:, :2], tg["joints2d"], node_batch, self.hparams.heatmap_sigma_px)
        for o in outs:
            terms["joints2d"].append(joint_loss(o["joints2d"], tg["joints2d"], tg["w2d"], self.hparams.joint_loss_kind))
            if use_heatmap:
                terms["heatmap"].append(heatmap_loss(o["joint_log_prob"], log_q, node_batch, tg["w2d"]))
            if "rel_depth" in o:
                terms["rel_depth"].append(
                    joint_loss(o["rel_depth"][..., None] / 100.0, tg["rel_depth"][..., None] / 100.0, tg["w_rel"])
                )
                terms["root_depth"].append(log_depth_loss(o["root_depth"], tg["root_depth"], tg["w_root"]))
            if "part_logits" in o and getattr(batch, "part", None) is not None:
                terms["parts"].append(part_loss(o["part_logits"], part_targets(batch.part, self.net.num_parts)))
        return {k: stage_sum(v, self.hparams.stage_weights) for k, v in terms.items() if v}

    def loss_weight(self, term: str) -> float:
        return self.hparams.loss_weights[term]

    def after_training_step(self, batch) -> None:
        if self.current_epoch == 0 and getattr(batch, "joints3d", None) is not None:
            valid = batch.valid3d
            if self._pose_sum.device != valid.device:
                self._pose_sum, self._pose_count = self._pose_sum.to(valid.device), self._pose_count.to(valid.device)
            self._pose_sum += torch.where(valid[..., None], batch.joints3d, 0.0).sum(0).detach().double()
            self._pose_count += valid.sum(0).double()

    def on_validation_epoch_start(self):
        # the mean pose over every process's training windows (a sum over processes under
        # DDP; every process calls this hook); None until every joint was seen
        sums = torch.cat([self._pose_sum.flatten(), self._pose_count]).to(self.device)
        if self.trainer is not None and self.trainer.world_size > 1:
            sums = self.trainer.strategy.reduce(sums.clone(), reduce_op="sum")
        K = self._pose_count.numel()
        total, count = sums[: 3 * K].view(K, 3), sums[3 * K :]
        self._pose_mean = (total / count[:, None]) if bool((count > 0).all()) else None

    def update_metrics(self, outs, batch) -> None:
        o = outs[-1]
        w2d = batch.visible.float()
        self.val_metrics["mpjpe2d"].update(o["joints2d"], batch.joints2d, w2d)
        self.val_metrics["pck5"].update(o["joints2d"], batch.joints2d, w2d)
        self.val_metrics["pck10"].update(o["joints2d"], batch.joints2d, w2d)
        if "joints3d" in o:
            self.val_metrics["mpjpe3d"].update(o["joints3d"], batch.joints3d, batch.valid3d.float())
        if self._pose_mean is not None and getattr(batch, "cam_K", None) is not None:
            mean = self._pose_mean.to(batch.joints2d)
            xc = world_to_camera(mean.expand(batch.num_graphs, -1, -1), batch.cam_R, batch.cam_t)
            K_ = batch.cam_K
            zeros = torch.zeros_like(batch.cam_t)[..., None]
            base2d = project_points(xc, torch.cat([K_, zeros], dim=-1))
            self.val_metrics["baseline_mpjpe2d_mean_pose"].update(base2d, batch.joints2d, w2d)
        if "part_logits" in o and getattr(batch, "part", None) is not None:
            self.val_metrics["miou"].update(o["part_logits"].argmax(1), part_targets(batch.part, self.net.num_parts))

    # ------------------------------------------------------------------ optimisation
    def parameter_groups(self) -> list[dict]:
        """The heads at the optimiser's rate, the backbone (unless frozen) at
        ``backbone_lr_factor`` times it."""
        backbone = [p for p in self.net.backbone.parameters() if p.requires_grad]
        heads = [p for n, p in self.net.named_parameters() if not n.startswith("backbone.") and p.requires_grad]
        groups = [{"params": heads, "name": "heads"}]
        if backbone:
            base_lr = build(self.hparams.optimizer).keywords.get("lr", 1e-3)
            groups.append({"params": backbone, "lr": base_lr * self.hparams.backbone_lr_factor, "name": "backbone"})
        return groups

    def backbone_frozen_now(self) -> bool:
        """Whether the coming optimisation step leaves the backbone as it is
        (``freeze_backbone_steps``; not ``freeze_backbone``, whose backbone the optimiser never holds)."""
        return self.global_step < self.hparams.freeze_backbone_steps

    def on_before_optimizer_step(self, optimizer) -> None:
        # after the backward (and DDP's gradient averaging: every process drops the same
        # gradients), before clipping and the step: a parameter without a gradient is skipped
        # by the optimiser, weight decay and moments included
        super().on_before_optimizer_step(optimizer)
        if self.backbone_frozen_now():
            for p in self.net.backbone.parameters():
                p.grad = None

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_info(self) -> dict:
        return {"pretrained": self.pretrained_report is not None}
