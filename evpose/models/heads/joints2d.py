"""2D joints by integral regression over the nodes of each event graph."""

from __future__ import annotations

import torch
from torch import nn
from torch_scatter import scatter_sum
from torch_scatter.composite import scatter_log_softmax


class Joints2DHead(nn.Module):
    """Soft-argmax over graph nodes: each joint's position is the expected node position
    under a per-graph softmax of the node's joint logit, plus a per-node offset.

    ``joints2d[b, k] = sum_i p_ik (xy_i + o_ik)`` with ``p_ik = softmax_i(logit_ik)`` over
    the nodes of graph b. Fully differentiable (no argmax). The confidence of a joint is the
    probability mass within ``confidence_radius_px`` of its estimate, so a peaked
    distribution is confident and a spread one is not; a graph without nodes gives joints at
    (0, 0) with confidence 0.

    Args:
        in_channels: node feature width C.
        num_joints: K.
        offset: predict the per-node offsets (default True); zero-initialised.
        offset_scale_px: offsets are predicted in units of this many pixels.
        confidence_radius_px: radius of the confidence mass.

    Shapes:
        h: (N, C), joint_logits: (N, K), pos: (N, >=2) pixels in columns 0, 1, batch: (N,)
        -> joints2d (B, K, 2), confidence (B, K), joint_prob (N, K), joint_log_prob (N, K)
    """

    def __init__(
        self,
        in_channels: int,
        num_joints: int,
        offset: bool = True,
        offset_scale_px: float = 10.0,
        confidence_radius_px: float = 8.0,
    ):
        super().__init__()
        self.num_joints = num_joints
        self.offset_scale_px = offset_scale_px
        self.confidence_radius_px = confidence_radius_px
        self.offset = nn.Linear(in_channels, 2 * num_joints) if offset else None
        if self.offset is not None:
            nn.init.zeros_(self.offset.weight)
            nn.init.zeros_(self.offset.bias)

    def forward(self, h, joint_logits, pos, batch, num_graphs: int) -> dict[str, torch.Tensor]:
        N, K = joint_logits.shape
        log_prob = scatter_log_softmax(joint_logits, batch, dim=0, dim_size=num_graphs) if N else joint_logits
        prob = log_prob.exp()
        xy = pos[:, None, :2].expand(N, K, 2)
        if self.offset is not None:
            xy = xy + self.offset_scale_px * self.offset(h).view(N, K, 2)
        joints = scatter_sum(prob[..., None] * xy, batch, dim=0, dim_size=num_graphs)
        near = ((xy - joints[batch]).norm(dim=-1) <= self.confidence_radius_px).to(prob.dtype)
        confidence = scatter_sum(prob * near, batch, dim=0, dim_size=num_graphs)
        return {"joints2d": joints, "confidence": confidence.detach(), "joint_prob": prob, "joint_log_prob": log_prob}
