"""Losses with mmpose's ``(pred, target, weight)`` convention, and the sum over stages."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch_scatter.composite import scatter_log_softmax

from ..types import part_class

#: Part-label target of nodes without a label (ignored by the cross-entropy).
IGNORE_LABEL = -100


def joint_loss(pred, target, weight=None, kind: str = "l1", beta: float = 1.0) -> torch.Tensor:
    """Mean per-joint regression loss over the joints with positive weight.

    Args:
        pred, target: joint positions (px or mm; non-finite targets count as weight 0).
        weight: per-joint weights, e.g. visibility (default 1).
        kind: ``"l1"`` (sum of absolute coordinate errors), ``"smooth_l1"`` (Huber with
            ``beta``) or ``"l2"`` (Euclidean distance).

    Shapes:
        pred, target: (B, K, D), weight: (B, K) -> scalar
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
    finite = torch.isfinite(target).all(dim=-1)
    w = finite.to(pred.dtype) if weight is None else weight.to(pred.dtype) * finite
    target = torch.where(finite[..., None], target, pred.detach())
    if kind == "l1":
        per = (pred - target).abs().sum(dim=-1)
    elif kind == "smooth_l1":
        per = F.smooth_l1_loss(pred, target, reduction="none", beta=beta).sum(dim=-1)
    elif kind == "l2":
        per = (pred - target).norm(dim=-1)
    else:
        raise ValueError(f"unknown joint loss {kind!r}; valid: l1, smooth_l1, l2")
    return (per * w).sum() / w.sum().clamp_min(1.0)


def part_loss(logits, target, weight=None, label_smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy over part classes; targets equal to ``IGNORE_LABEL`` are left out.

    Shapes:
        logits: (N, C), target: (N,) int, weight: (C,) class weights -> scalar (0 if no label)
    """
    if (target != IGNORE_LABEL).sum() == 0:
        return logits.sum() * 0.0
    return F.cross_entropy(logits, target, weight=weight, ignore_index=IGNORE_LABEL, label_smoothing=label_smoothing)


def part_targets(part: torch.Tensor, num_parts: int) -> torch.Tensor:
    """Node part labels to classifier targets: part ids stay, background (-1) becomes
    class ``num_parts``, anything below -1 (unknown) becomes ``IGNORE_LABEL``.

    Shapes: (N,) -> (N,) int64
    """
    part = part.long()
    return torch.where(part < -1, torch.full_like(part, IGNORE_LABEL), part_class(part, num_parts))


def stage_sum(losses: Sequence[torch.Tensor], stage_weights: Sequence[float] | None = None) -> torch.Tensor:
    """Weighted sum of per-stage losses (intermediate supervision); default weight 1 each."""
    if not losses:
        raise ValueError("no stage losses to sum")
    if stage_weights is None:
        stage_weights = [1.0] * len(losses)
    if len(stage_weights) != len(losses):
        raise ValueError(f"{len(losses)} stages but {len(stage_weights)} stage weights")
    return sum(w * l for w, l in zip(stage_weights, losses))


def log_depth_loss(pred, target, weight=None) -> torch.Tensor:
    """``|ln(pred) - ln(target)|`` averaged over positive weights: a relative error, so the
    loss of an absolute root depth (thousands of mm) stays of order one.

    Shapes:
        pred, target: (B,), weight: (B,) -> scalar
    """
    ok = torch.isfinite(target) & (target > 0)
    w = ok.to(pred.dtype) if weight is None else weight.to(pred.dtype) * ok
    safe_t = torch.where(ok, target, torch.ones_like(target))
    per = (pred.clamp_min(1e-3).log() - safe_t.log()).abs()
    return (per * w).sum() / w.sum().clamp_min(1.0)


def heatmap_log_targets(xy, joints2d, batch, sigma_px: float) -> torch.Tensor:
    """Log of the per-node heatmap targets: for each graph b and joint k, a Gaussian of
    each node's image distance to the joint, normalised over the graph's nodes,
    ``q_ik = exp(-|xy_i - J_bk|^2 / 2 sigma^2) / sum_j exp(-|xy_j - J_bk|^2 / 2 sigma^2)``.

    Normalising over the nodes (a softmax of ``-d^2 / 2 sigma^2``) makes the target a
    distribution like the soft-argmax's node probabilities, and keeps it defined when no
    node lies within a few sigma of the joint (the nearest nodes then carry the mass).
    Non-finite joints give non-finite rows (give them weight 0 in the loss).

    Args:
        xy: node image positions (px).
        joints2d: the joints of every graph (px).
        batch: graph id of every node.
        sigma_px: the Gaussian's standard deviation (px).

    Shapes:
        xy: (N, 2), joints2d: (B, K, 2), batch: (N,) -> (N, K)
    """
    if not sigma_px > 0:
        raise ValueError(f"sigma_px must be positive, got {sigma_px}")
    d2 = (xy[:, None, :] - joints2d.index_select(0, batch)).pow(2).sum(-1)  # (N, K)
    return scatter_log_softmax(-d2 / (2.0 * sigma_px**2), batch, dim=0, dim_size=joints2d.shape[0])


def heatmap_loss(log_prob, log_target, batch, weight=None) -> torch.Tensor:
    """KL divergence ``sum_i q_ik (ln q_ik - ln p_ik)`` of the node distribution ``p`` of
    every joint from its heatmap target ``q`` (:func:`heatmap_log_targets`), averaged over
    the (graph, joint) pairs with positive weight. Zero when ``p == q``.

    Args:
        log_prob: log node probabilities of each joint (a per-graph log-softmax).
        log_target: log targets, the same layout.
        batch: graph id of every node.
        weight: per-joint weights, e.g. visibility (default 1); pairs with a non-finite
            target count as weight 0.

    Shapes:
        log_prob, log_target: (N, K), batch: (N,), weight: (B, K) -> scalar
    """
    if log_prob.shape != log_target.shape:
        raise ValueError(f"log_prob shape {tuple(log_prob.shape)} != log_target shape {tuple(log_target.shape)}")
    B = int(weight.shape[0]) if weight is not None else (int(batch.max()) + 1 if batch.numel() else 0)
    finite = torch.isfinite(log_target)
    safe_t = torch.where(finite, log_target, torch.zeros_like(log_target))
    q = torch.where(finite, safe_t.exp(), torch.zeros_like(log_target))
    per_node = q * (safe_t - log_prob)
    per = log_prob.new_zeros(B, log_prob.shape[1]).index_add_(0, batch, per_node)  # (B, K)
    ok = log_prob.new_zeros(B, log_prob.shape[1]).index_add_(0, batch, (~finite).to(log_prob.dtype)) == 0
    w = ok.to(log_prob.dtype) if weight is None else weight.to(log_prob.dtype) * ok
    return (per * w).sum() / w.sum().clamp_min(1.0)
