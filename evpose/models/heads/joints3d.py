"""3D joints: camera-centred pixels + root-relative depth + RootNet-style root depth."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch_scatter import scatter_sum

from ...geometry import A_REAL_MM2, back_project, box_area, camera_to_world, k_factor
from ...types import ROOT_JOINTS
from ..layers import mlp
from ..scatter import scatter_max_rows, scatter_mean_rows


#: The depth that ``root_from="features"`` scales (mm): a person about 3 m from the camera.
ROOT_REF_MM = 3000.0


class Joints3DHead(nn.Module):
    """Lift the 2D joints to 3D with the camera.

    - ``x, y``: the camera-centred pixel positions of the 2D head.
    - root-relative depth per joint: per-node depth predictions averaged with the 2D head's
      node probabilities (``sum_i p_ik d_ik``), made relative to the root (mid-hip).
    - absolute root depth, RootNet style: ``Z_root = gamma * k`` with
      ``k = sqrt(alpha_x * alpha_y * A_real / A_img)``, ``A_real`` = 2000 mm x 2000 mm and
      ``A_img`` the area of the predicted 2D pose's box (its gradient is stopped, as RootNet
      uses a given box); ``gamma`` is regressed from max+mean pooled node features.
    - back-projection to the camera frame with the intrinsics, then to the world frame.

    Since the intrinsics are an input, the same model serves any camera.

    Args:
        in_channels: node feature width C.
        num_joints: K.
        root_joints: joints averaged into the root (default: the two hips of DHP19).
        depth_scale_mm: relative depths are predicted in units of this many mm.
        gamma_init: initial gamma; a 13-joint box covers about a fifth of RootNet's
            2 m x 2 m, so gamma starts near sqrt(0.2) ~ 0.45.
        area_real_mm2: RootNet's A_real.
        min_box_side_px: each side of the 2D box is taken as at least this long, so that a
            collapsed pose (an untrained net, an empty window) cannot make k explode.
        detach_prob: average the per-node depths with the 2D head's probabilities without
            letting the depth loss move them (the depth loss then trains depths, not where
            the joints are; default False).
        root_from: ``"rootnet"`` (``Z_root = gamma * k``) or ``"features"``
            (``Z_root = gamma * 3 m``: the window's pooled features alone, e.g. with the
            backbone's camera input in a fixed rig, where the distance hardly varies).
        gamma_sees_k: give gamma's MLP ``ln k`` too. The box of the joints grows and shrinks
            with the pose (arms up, squats) far more than with the distance in a fixed rig
            (on the demo data ``ln(Z / k)`` varies by 0.19-0.23 per camera, ``ln Z`` by
            0.02-0.03), so gamma must be able to correct k by the box it came from
            (default False).

    Shapes:
        h: (N, C), prob: (N, K), joints2d: (B, K, 2), batch: (N,), cam_K: (B, 3, 3),
        cam_R: (B, 3, 3), cam_t: (B, 3), box_weight: (B, K) optional, box_joints2d: (B, K, 2) optional
        -> rel_depth (B, K) mm, root_depth (B,) mm, joints3d_cam (B, K, 3), joints3d (B, K, 3)
    """

    def __init__(
        self,
        in_channels: int,
        num_joints: int,
        root_joints: tuple[int, ...] = ROOT_JOINTS,
        depth_scale_mm: float = 500.0,
        gamma_init: float = 0.45,
        area_real_mm2: float = A_REAL_MM2,
        min_box_side_px: float = 16.0,
        detach_prob: bool = False,
        gamma_sees_k: bool = False,
        root_from: str = "rootnet",
    ):
        super().__init__()
        self.root_joints = list(root_joints)
        self.depth_scale_mm = depth_scale_mm
        self.area_real_mm2 = area_real_mm2
        self.min_box_side_px = min_box_side_px
        self.detach_prob = bool(detach_prob)
        self.depth = nn.Linear(in_channels, num_joints)
        if root_from not in ("rootnet", "features"):
            raise ValueError(f"root_from must be 'rootnet' or 'features', got {root_from!r}")
        self.root_from = root_from
        self.gamma_sees_k = bool(gamma_sees_k)
        self.gamma = mlp([2 * in_channels + int(self.gamma_sees_k), in_channels, 1], norm=True)
        nn.init.normal_(self.gamma[-1].weight, std=1e-3)  # small, not zero: gradients reach the MLP
        nn.init.constant_(self.gamma[-1].bias, math.log(gamma_init) if root_from == "rootnet" else 0.0)

    def forward(self, h, prob, joints2d, batch, num_graphs: int, cam_K, cam_R, cam_t, box_weight=None,
                box_joints2d=None):
        """``box_joints2d``: the 2D joints whose box gives k (default: ``joints2d``, the
        prediction); training passes the labelled joints, as RootNet trains on given boxes."""
        d = self.depth_scale_mm * self.depth(h)  # (N, K)
        # the depth loss trains the per-node depths, not where the 2D head puts each joint
        w = prob.detach() if self.detach_prob else prob
        depth = scatter_sum(w * d, batch, dim=0, dim_size=num_graphs)
        rel = depth - depth[:, self.root_joints].mean(dim=1, keepdim=True)
        pooled = torch.cat(
            [scatter_max_rows(h, batch, num_graphs), scatter_mean_rows(h, batch, num_graphs)],
            dim=-1,
        )
        box_src = joints2d if box_joints2d is None else box_joints2d
        area = box_area(box_src.detach(), box_weight, min_side=self.min_box_side_px)
        k = k_factor(cam_K[:, 0, 0], cam_K[:, 1, 1], area, self.area_real_mm2)
        if self.gamma_sees_k:  # k in log units around 3 m, so gamma can correct (or undo) it
            pooled = torch.cat([pooled, (k.log() - math.log(3000.0))[:, None].to(pooled.dtype)], dim=-1)
        gamma = self.gamma(pooled).squeeze(-1).exp()
        root_depth = gamma * (k if self.root_from == "rootnet" else k.new_full(k.shape, ROOT_REF_MM))
        z = root_depth[:, None] + rel
        xc = back_project(joints2d, z, cam_K)
        xw = camera_to_world(xc, cam_R, cam_t)
        return {"rel_depth": rel, "root_depth": root_depth, "joints3d_cam": xc, "joints3d": xw, "gamma": gamma, "k": k}
