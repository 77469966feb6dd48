"""3D joints: the 2D joints lifted with the camera, at every backbone stage.

Encoder: the window's 3D labels (camera-frame ``depth`` and ``valid3d``, world ``joints3d``;
the labelled 2D joints for RootNet's box in training), written by the graph transform.
Head: a :class:`~evpose.models.heads.Joints3DHead` per backbone stage, on the stage's
features and the 2D task's outputs of that stage (it needs the ``joints2d`` task, which comes
first in the task list).
Loss: ``weight * L1(root-relative depth, per 100 mm) + root_depth_weight * |ln Z_root - ln Z_root*|``
per stage.
Metric: MPJPE 3D (mm, monocular; the last stage).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..metrics import JointErrorMetric
from ..models.heads import Joints3DHead
from ..models.losses import joint_loss, log_depth_loss
from ..types import ROOT_JOINTS
from .base import STAGES, WINDOW, Encoder, Key, Keys, Task, TaskHead

#: The window labels the 3D task reads (one row per window).
JOINTS3D_KEYS = Keys(
    depth=Key("depth", WINDOW),  # (B, K) camera-frame Z, mm
    valid3d=Key("valid3d", WINDOW),  # (B, K) bool
    joints3d=Key("joints3d", WINDOW),  # (B, K, 3) world mm
    joints2d=Key("joints2d", WINDOW),  # (B, K, 2) RootNet's box in training
    visible=Key("visible", WINDOW),  # (B, K) bool
)


def pose_targets(batch, root_joints: Sequence[int]) -> dict[str, torch.Tensor]:
    """Depth targets from a batch's window labels.

    Returns ``rel_depth`` (B, K) mm from the root, ``w_rel`` (B, K), ``root_depth`` (B,),
    ``w_root`` (B,).
    """
    depth = JOINTS3D_KEYS.depth.of(batch)
    valid = JOINTS3D_KEYS.valid3d.of(batch) & torch.isfinite(depth)
    root = list(root_joints)
    root_ok = valid[:, root].all(dim=1)
    root_depth = torch.where(root_ok, torch.nan_to_num(depth[:, root]).mean(dim=1), torch.zeros_like(depth[:, 0]))
    rel = torch.nan_to_num(depth) - root_depth[:, None]
    w_rel = (valid & root_ok[:, None]).float()
    return {"rel_depth": rel, "w_rel": w_rel, "root_depth": root_depth, "w_root": root_ok.float()}


class Joints3DLabels(Encoder):
    """The 3D joint labels of a window (see the module docstring); corrupts nothing.

    Args:
        num_joints: K.
        root_joints: joints averaged into the root (mid-hip for DHP19).
    """

    keys = JOINTS3D_KEYS

    def __init__(self, num_joints: int = 13, root_joints: Sequence[int] = ROOT_JOINTS):
        self.num_joints = int(num_joints)
        self.root_joints = tuple(int(j) for j in root_joints)

    def targets(self, batch) -> dict[str, torch.Tensor]:
        """:func:`pose_targets` of the batch."""
        return pose_targets(batch, self.root_joints)


class Joints3DTaskHead(TaskHead):
    """A :class:`~evpose.models.heads.Joints3DHead` per backbone stage.

    Args:
        channels: backbone width.
        encoder: the task's :class:`Joints3DLabels`.
        num_stages: backbone stages.
        depth_scale_mm, gamma_init: see :class:`~evpose.models.heads.Joints3DHead`.
        detach_depth_prob, gamma_sees_k, root_from: see :class:`~evpose.models.heads.Joints3DHead`
            (``detach_prob``, ``gamma_sees_k``, ``root_from``).
        root_box_from_labels: in training, RootNet's k comes from the box of the labelled 2D
            joints (as RootNet trains on given boxes) instead of the predicted ones, so the
            root depth learns from a right box while the 2D is still wrong; evaluation always
            uses the prediction.
    """

    outputs = {"rel_depth": WINDOW, "root_depth": WINDOW, "joints3d_cam": WINDOW, "joints3d": WINDOW,
               "gamma": WINDOW, "k": WINDOW, "stages": STAGES}

    def __init__(self, channels: int, encoder: Joints3DLabels, num_stages: int = 1, depth_scale_mm: float = 500.0,
                 gamma_init: float = 0.45, detach_depth_prob: bool = True, gamma_sees_k: bool = True,
                 root_from: str = "features", root_box_from_labels: bool = True):
        super().__init__()
        self.encoder = encoder
        self.root_box_from_labels = bool(root_box_from_labels)
        self.stages = nn.ModuleList(
            Joints3DHead(channels, encoder.num_joints, encoder.root_joints, depth_scale_mm=depth_scale_mm,
                         gamma_init=gamma_init, detach_prob=detach_depth_prob, gamma_sees_k=gamma_sees_k,
                         root_from=root_from)
            for _ in range(num_stages)
        )

    def forward(self, features, batch, earlier):
        box = {}
        labels = JOINTS3D_KEYS.joints2d.get(batch)
        if self.training and self.root_box_from_labels and labels is not None:
            box = {"box_joints2d": labels, "box_weight": JOINTS3D_KEYS.visible.of(batch).float()}
        stages = [
            head(h, j2d["joint_prob"], j2d["joints2d"], features.batch, features.num_graphs, batch.cam_K, batch.cam_R,
                 batch.cam_t, **box)
            for head, h, j2d in zip(self.stages, features.features, earlier["joints2d"]["stages"])
        ]
        return {**stages[-1], "stages": stages}

    def losses(self, out, batch):
        tg = self.encoder.targets(batch)
        stages = out["stages"]
        return {
            "loss_rel_depth": [joint_loss(o["rel_depth"][..., None] / 100.0, tg["rel_depth"][..., None] / 100.0,
                                          tg["w_rel"]) for o in stages],
            "loss_root_depth": [log_depth_loss(o["root_depth"], tg["root_depth"], tg["w_root"]) for o in stages],
        }

    def metrics(self) -> nn.ModuleDict:
        return nn.ModuleDict({"mpjpe3d": JointErrorMetric("mpjpe", self.encoder.num_joints)})

    def update_metrics(self, metrics, out, batch):
        metrics["mpjpe3d"].update(out["joints3d"], JOINTS3D_KEYS.joints3d.of(batch),
                                  JOINTS3D_KEYS.valid3d.of(batch).float())


class Joints3DTask(Task):
    """3D joints (see the module docstring).

    Args:
        weight: weight of the root-relative depth term (per 100 mm).
        root_depth_weight: weight of the root depth term (per unit of ``|ln(Z / Z*)|``).
        num_joints: K.
        root_joints: joints averaged into the root (mid-hip for DHP19).
        depth_scale_mm, gamma_init, detach_depth_prob, gamma_sees_k, root_from,
            root_box_from_labels: see :class:`Joints3DTaskHead`.
    """

    name = "joints3d"
    kind = "pose"
    head_class = Joints3DTaskHead
    needs = ("joints2d",)
    namespaced = False

    def __init__(self, weight: float = 1.0, root_depth_weight: float = 5.0, num_joints: int = 13,
                 root_joints: Sequence[int] = ROOT_JOINTS, depth_scale_mm: float = 500.0, gamma_init: float = 0.45,
                 detach_depth_prob: bool = True, gamma_sees_k: bool = True, root_from: str = "features",
                 root_box_from_labels: bool = True):
        if root_depth_weight < 0:
            raise ValueError(f"joints3d: root_depth_weight must be >= 0, got {root_depth_weight}")
        self.root_depth_weight = float(root_depth_weight)
        super().__init__(weight, Joints3DLabels(num_joints, root_joints), depth_scale_mm=float(depth_scale_mm),
                         gamma_init=float(gamma_init), detach_depth_prob=bool(detach_depth_prob),
                         gamma_sees_k=bool(gamma_sees_k), root_from=root_from,
                         root_box_from_labels=bool(root_box_from_labels))

    def build_head(self, channels: int, num_stages: int = 1) -> Joints3DTaskHead:
        return self.head_class(channels, self.encoder, num_stages=num_stages, **self.head_params)

    @property
    def loss_weights(self) -> dict[str, float]:
        return {"loss_rel_depth": self.weight, "loss_root_depth": self.root_depth_weight}
