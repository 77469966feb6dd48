"""The pose network: backbone (stacked graph hourglasses) + multi-task heads per stage."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..types import ROOT_JOINTS
from .heads import Joints2DHead, Joints3DHead, PartsHead
from .refine import BackboneOutput, RefinementStack


class PoseNet(nn.Module):
    """Event graph in, 2D joints, 3D joints and body parts out, at every stage.

    Every stage has its own heads (intermediate supervision); the last stage's outputs
    are the prediction. The 2D head turns the stage's per-node maps (joint logits) into
    joints by integral regression; the 3D head lifts them with the camera; the parts
    head labels every node.

    Args:
        backbone: a built :class:`RefinementStack` (its ``num_maps`` must equal K).
        num_joints: K.
        num_parts: P (the parts head has P + 1 classes, background last); 0 disables it.
        joints3d: build the 3D head (needs the camera in the batch).
        root_joints: joints averaged into the root (mid-hip for DHP19).
        offset_scale_px, confidence_radius_px: see :class:`Joints2DHead`.
        depth_scale_mm, gamma_init: see :class:`Joints3DHead`.
        detach_depth_prob, gamma_sees_k, root_from: see :class:`Joints3DHead` (``detach_prob``,
            ``gamma_sees_k``, ``root_from``; defaults True, True, ``"features"``).
        root_box_from_labels: in training, RootNet's k comes from the box of the labelled 2D
            joints (as RootNet trains on given boxes) instead of the predicted ones, so the
            root depth learns from a right box while the 2D is still wrong (default True);
            evaluation always uses the prediction.

    Shapes:
        data: a PyG Batch with x (N, F), pos (N, 3), batch (N,), edge_index (2, E), and for
        3D cam_K (B, 3, 3), cam_R (B, 3, 3), cam_t (B, 3)
        -> S dicts: joints2d (B, K, 2), confidence (B, K), joint_prob (N, K),
           [rel_depth (B, K), root_depth (B,), joints3d_cam (B, K, 3), joints3d (B, K, 3)],
           [part_logits (N, P + 1)]
    """

    def __init__(
        self,
        backbone: RefinementStack,
        num_joints: int = 13,
        num_parts: int = 10,
        joints3d: bool = True,
        root_joints: tuple[int, ...] = ROOT_JOINTS,
        offset_scale_px: float = 10.0,
        confidence_radius_px: float = 8.0,
        depth_scale_mm: float = 500.0,
        gamma_init: float = 0.45,
        root_box_from_labels: bool = True,
        detach_depth_prob: bool = True,
        gamma_sees_k: bool = True,
        root_from: str = "features",
    ):
        super().__init__()
        if backbone.num_maps != num_joints:
            raise ValueError(f"backbone makes {backbone.num_maps} maps per node but the pose has {num_joints} joints")
        self.backbone = backbone
        self.num_joints, self.num_parts = num_joints, num_parts
        self.root_box_from_labels = bool(root_box_from_labels)
        C, S = backbone.channels, backbone.num_stages
        self.joints2d = nn.ModuleList(
            Joints2DHead(C, num_joints, offset_scale_px=offset_scale_px, confidence_radius_px=confidence_radius_px)
            for _ in range(S)
        )
        self.joints3d = (
            nn.ModuleList(
                Joints3DHead(C, num_joints, tuple(root_joints), depth_scale_mm=depth_scale_mm, gamma_init=gamma_init,
                             detach_prob=detach_depth_prob, gamma_sees_k=gamma_sees_k, root_from=root_from)
                for _ in range(S)
            )
            if joints3d
            else None
        )
        self.parts = nn.ModuleList(PartsHead(C, num_parts) for _ in range(S)) if num_parts > 0 else None

    def forward(self, data) -> list[dict[str, Tensor]]:
        feats = self.encode(data)
        return self.decode(feats, data)

    def encode(self, data) -> BackboneOutput:
        batch = data.batch if getattr(data, "batch", None) is not None else data.x.new_zeros(data.num_nodes, dtype=torch.long)
        num_graphs = int(getattr(data, "num_graphs", 1) or 1)
        return self.backbone(data.x, data.pos, batch, data.edge_index, num_graphs, cam_R=getattr(data, "cam_R", None))

    def decode(self, feats: BackboneOutput, data) -> list[dict[str, Tensor]]:
        outputs = []
        box = {}
        if self.training and self.root_box_from_labels and getattr(data, "joints2d", None) is not None:
            box = {"box_joints2d": data.joints2d, "box_weight": data.visible.float()}
        for s, (h, maps) in enumerate(zip(feats.features, feats.maps)):
            out = self.joints2d[s](h, maps, feats.pos, feats.batch, feats.num_graphs)
            if self.joints3d is not None:
                out.update(
                    self.joints3d[s](h, out["joint_prob"], out["joints2d"], feats.batch, feats.num_graphs,
                                     data.cam_K, data.cam_R, data.cam_t, **box)
                )
            if self.parts is not None:
                out.update(self.parts[s](h))
            outputs.append(out)
        return outputs
