"""2D joints: integral regression over the nodes of each event graph, at every backbone stage.

Encoder: the window's 2D labels (``joints2d``, ``visible``; and ``joints3d``, ``valid3d`` for
the mean-pose baseline), written by the graph transform from the window's label.
Head: a :class:`~evpose.models.heads.Joints2DHead` per backbone stage (intermediate
supervision) on the stage's features and joint maps.
Loss: ``weight * L1(2D joints, px) + heatmap_weight * KL(node heatmaps)`` per stage. The
heatmap term is the KL divergence of each joint's node distribution (the soft-argmax's
probabilities) from a Gaussian of each node's distance to the labelled joint
(:func:`~evpose.models.losses.heatmap_loss`): a direct, per-node signal where the integral
loss alone moves probability mass in almost any direction that shifts the mean.
Metrics: MPJPE 2D (px), PCK@5 and PCK@10 px (the last stage).
Baseline: the mean pose (``baseline_mpjpe2d_mean_pose``: the mean 3D pose of the training
windows of the first epoch projected into each window's camera).
"""

from __future__ import annotations

import torch
from torch import nn

from ..geometry import project_points, world_to_camera
from ..metrics import JointErrorMetric
from ..models.heads import Joints2DHead
from ..models.losses import heatmap_log_targets, heatmap_loss, joint_loss
from .base import NODE, STAGES, WINDOW, Encoder, Key, Keys, Task, TaskHead

#: The window labels the 2D task reads (one row per window).
JOINTS2D_KEYS = Keys(
    joints2d=Key("joints2d", WINDOW),  # (B, K, 2) pixels in the window's camera
    visible=Key("visible", WINDOW),  # (B, K) bool
    joints3d=Key("joints3d", WINDOW),  # (B, K, 3) world mm (the mean-pose baseline)
    valid3d=Key("valid3d", WINDOW),  # (B, K) bool
)
JOINT_LOSS_KINDS = ("l1", "smooth_l1", "l2")


class Joints2DLabels(Encoder):
    """The 2D joint labels of a window (see the module docstring); corrupts nothing.

    Args:
        num_joints: K.
    """

    keys = JOINTS2D_KEYS

    def __init__(self, num_joints: int = 13):
        self.num_joints = int(num_joints)

    def targets(self, batch) -> dict[str, torch.Tensor]:
        """``joints2d`` (B, K, 2) and ``w2d`` (B, K), the visibility as weights."""
        return {"joints2d": JOINTS2D_KEYS.joints2d.of(batch), "w2d": JOINTS2D_KEYS.visible.of(batch).float()}


class Joints2DTaskHead(TaskHead):
    """A :class:`~evpose.models.heads.Joints2DHead` per backbone stage.

    Args:
        channels: backbone width.
        encoder: the task's :class:`Joints2DLabels`.
        num_stages: backbone stages.
        offset_scale_px, confidence_radius_px: see :class:`~evpose.models.heads.Joints2DHead`.
        loss: ``"l1"``, ``"smooth_l1"`` or ``"l2"`` for the 2D joints.
        heatmap: compute the heatmap term (its weight is positive).
        heatmap_sigma_px: the standard deviation of the heatmap targets (px).
    """

    outputs = {"joints2d": WINDOW, "confidence": WINDOW, "joint_prob": NODE, "joint_log_prob": NODE,
               "stages": STAGES}

    def __init__(self, channels: int, encoder: Joints2DLabels, num_stages: int = 1, offset_scale_px: float = 10.0,
                 confidence_radius_px: float = 8.0, loss: str = "l1", heatmap: bool = True,
                 heatmap_sigma_px: float = 4.0):
        super().__init__()
        self.encoder = encoder
        K = encoder.num_joints
        self.stages = nn.ModuleList(
            Joints2DHead(channels, K, offset_scale_px=offset_scale_px, confidence_radius_px=confidence_radius_px)
            for _ in range(num_stages)
        )
        self.loss_kind, self.heatmap, self.heatmap_sigma_px = loss, bool(heatmap), float(heatmap_sigma_px)
        # the mean 3D pose of the training windows seen so far (world mm): the mean-pose
        # baseline logged next to the validation MPJPE (exact once an epoch has passed).
        # This process's sums, on the batches' device (no host copy per training step; not
        # saved); plain tensors, not buffers, which DDP would overwrite with rank 0's at every
        # forward. Validation uses the sums over all processes (_pose_mean).
        self._pose_sum = torch.zeros(K, 3, dtype=torch.float64)
        self._pose_count = torch.zeros(K, dtype=torch.float64)
        self._pose_mean: torch.Tensor | None = None

    def forward(self, features, batch):
        stages = [head(h, maps, features.pos, features.batch, features.num_graphs)
                  for head, h, maps in zip(self.stages, features.features, features.maps)]
        return {**stages[-1], "stages": stages}

    def losses(self, out, batch):
        tg = self.encoder.targets(batch)
        terms = {"loss_joints2d": [joint_loss(o["joints2d"], tg["joints2d"], tg["w2d"], self.loss_kind)
                                   for o in out["stages"]]}
        if self.heatmap:
            node_batch = batch.batch if getattr(batch, "batch", None) is not None else batch.pos.new_zeros(
                batch.num_nodes, dtype=torch.long)
            log_q = heatmap_log_targets(batch.pos[:, :2], tg["joints2d"], node_batch, self.heatmap_sigma_px)
            terms["loss_heatmap"] = [heatmap_loss(o["joint_log_prob"], log_q, node_batch, tg["w2d"])
                                     for o in out["stages"]]
        return terms

    def metrics(self) -> nn.ModuleDict:
        K = self.encoder.num_joints
        return nn.ModuleDict({
            "mpjpe2d": JointErrorMetric("mpjpe", K),
            "pck5": JointErrorMetric("pck", K, threshold=5.0),
            "pck10": JointErrorMetric("pck", K, threshold=10.0),
            "baseline_mpjpe2d_mean_pose": JointErrorMetric("mpjpe", K),
        })

    def update_metrics(self, metrics, out, batch):
        tg = self.encoder.targets(batch)
        for name in ("mpjpe2d", "pck5", "pck10"):
            metrics[name].update(out["joints2d"], tg["joints2d"], tg["w2d"])
        if self._pose_mean is not None and getattr(batch, "cam_K", None) is not None:
            mean = self._pose_mean.to(tg["joints2d"])
            xc = world_to_camera(mean.expand(batch.num_graphs, -1, -1), batch.cam_R, batch.cam_t)
            zeros = torch.zeros_like(batch.cam_t)[..., None]
            base2d = project_points(xc, torch.cat([batch.cam_K, zeros], dim=-1))
            metrics["baseline_mpjpe2d_mean_pose"].update(base2d, tg["joints2d"], tg["w2d"])

    def observe_training_batch(self, batch, epoch: int) -> None:
        """The first epoch's training windows enter the mean pose."""
        joints3d = JOINTS2D_KEYS.joints3d.get(batch)
        if epoch == 0 and joints3d is not None:
            valid = JOINTS2D_KEYS.valid3d.of(batch)
            if self._pose_sum.device != valid.device:
                self._pose_sum, self._pose_count = self._pose_sum.to(valid.device), self._pose_count.to(valid.device)
            self._pose_sum += torch.where(valid[..., None], joints3d, 0.0).sum(0).detach().double()
            self._pose_count += valid.sum(0).double()

    def on_validation_start(self, reduce) -> None:
        # the mean pose over every process's training windows (a sum over processes under
        # DDP); None until every joint was seen
        device = next(self.parameters()).device
        sums = reduce(torch.cat([self._pose_sum.flatten(), self._pose_count]).to(device))
        K = self._pose_count.numel()
        total, count = sums[: 3 * K].view(K, 3), sums[3 * K :]
        self._pose_mean = (total / count[:, None]) if bool((count > 0).all()) else None


class Joints2DTask(Task):
    """2D joints (see the module docstring).

    Args:
        weight: weight of the 2D joint term (per px).
        num_joints: K (the backbone's joint maps per node).
        offset_scale_px, confidence_radius_px: see :class:`~evpose.models.heads.Joints2DHead`.
        loss: ``"l1"``, ``"smooth_l1"`` or ``"l2"``.
        heatmap_weight: weight of the heatmap term (0: left out).
        heatmap_sigma_px: the Gaussian of the heatmap targets (px).
    """

    name = "joints2d"
    kind = "pose"
    head_class = Joints2DTaskHead
    namespaced = False
    monitor_metric = "mpjpe2d"
    reads_maps = True

    def __init__(self, weight: float = 1.0, num_joints: int = 13, offset_scale_px: float = 10.0,
                 confidence_radius_px: float = 8.0, loss: str = "l1", heatmap_weight: float = 10.0,
                 heatmap_sigma_px: float = 4.0):
        if loss not in JOINT_LOSS_KINDS:
            raise ValueError(f"joints2d: loss must be one of {', '.join(JOINT_LOSS_KINDS)}, got {loss!r}")
        if heatmap_weight < 0:
            raise ValueError(f"joints2d: heatmap_weight must be >= 0, got {heatmap_weight}")
        self.heatmap_weight = float(heatmap_weight)
        super().__init__(weight, Joints2DLabels(num_joints), offset_scale_px=float(offset_scale_px),
                         confidence_radius_px=float(confidence_radius_px), loss=loss,
                         heatmap=self.heatmap_weight > 0, heatmap_sigma_px=float(heatmap_sigma_px))

    @property
    def num_joints(self) -> int:
        return self.encoder.num_joints

    def build_head(self, channels: int, num_stages: int = 1) -> Joints2DTaskHead:
        return self.head_class(channels, self.encoder, num_stages=num_stages, **self.head_params)

    def check_backbone(self, backbone) -> None:
        if backbone.num_maps != self.num_joints:
            raise ValueError(f"backbone makes {backbone.num_maps} maps per node but the pose has {self.num_joints} joints")

    @property
    def loss_weights(self) -> dict[str, float]:
        return {"loss_joints2d": self.weight, "loss_heatmap": self.heatmap_weight}
