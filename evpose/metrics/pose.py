"""Pose metrics as pure functions: MPJPE (2D px / 3D mm), PA-MPJPE, PCK, 3DPCK, AUC.

All take torch tensors or numpy arrays (returned as torch tensors), a prediction and a target
of the same shape (B, K, D), and an optional per-joint weight (B, K): joints with weight 0
(invisible, unknown) are left out. Averages are over the valid joints of the whole batch,
the usual definition on DHP19.
"""

from __future__ import annotations

import torch

#: Thresholds (mm) of the 3DPCK area under the curve, 0..150 mm in 5 mm steps (31 values).
AUC_THRESHOLDS_MM = tuple(float(t) for t in range(0, 155, 5))


def _as_tensors(pred, target, weight=None):
    pred = torch.as_tensor(pred, dtype=torch.float64) if not torch.is_tensor(pred) else pred.double()
    target = torch.as_tensor(target, dtype=torch.float64, device=pred.device) if not torch.is_tensor(target) else target.double()
    if pred.shape != target.shape:
        raise ValueError(f"pred shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
    if pred.dim() < 2:
        raise ValueError(f"poses must be (..., K, D), got shape {tuple(pred.shape)}")
    if weight is None:
        weight = torch.ones(pred.shape[:-1], dtype=torch.float64, device=pred.device)
    else:
        weight = torch.as_tensor(weight, device=pred.device).to(torch.float64)
        if weight.shape != pred.shape[:-1]:
            raise ValueError(f"weight shape {tuple(weight.shape)} != pose shape without D {tuple(pred.shape[:-1])}")
    # a joint that is not finite in the target cannot be scored
    weight = weight * torch.isfinite(target).all(dim=-1)
    target = torch.nan_to_num(target)
    return pred, target, weight


def joint_errors(pred, target) -> torch.Tensor:
    """Euclidean distance per joint. Shapes: (..., K, D) -> (..., K)."""
    pred, target, _ = _as_tensors(pred, target)
    return (pred - target).norm(dim=-1)


def _weighted_mean(values: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    total = weight.sum()
    if total <= 0:
        return torch.tensor(float("nan"), dtype=torch.float64)
    return (values * weight).sum() / total


def mpjpe(pred, target, weight=None) -> torch.Tensor:
    """Mean per-joint position error (the unit of the inputs: px for 2D, mm for 3D).

    Shapes:
        pred, target: (B, K, D), weight: (B, K) -> scalar (NaN when no joint is valid)
    """
    pred, target, weight = _as_tensors(pred, target, weight)
    return _weighted_mean((pred - target).norm(dim=-1), weight)


def per_joint_mpjpe(pred, target, weight=None) -> torch.Tensor:
    """MPJPE of each joint over the batch. Shapes: (B, K, D) -> (K,) (NaN where never valid)."""
    pred, target, weight = _as_tensors(pred, target, weight)
    err = (pred - target).norm(dim=-1)
    total = weight.sum(dim=0)
    out = (err * weight).sum(dim=0) / total.clamp_min(1e-12)
    return torch.where(total > 0, out, torch.full_like(out, float("nan")))


def procrustes_align(pred, target, weight=None) -> torch.Tensor:
    """Align each predicted pose to its target with the best similarity transform
    (scale, rotation, translation; Umeyama 1991) over the valid joints.

    Shapes:
        pred, target: (B, K, D), weight: (B, K) -> aligned pred (B, K, D)
    """
    pred, target, weight = _as_tensors(pred, target, weight)
    w = weight[..., None]
    n = w.sum(dim=-2, keepdim=True).clamp_min(1e-12)
    mu_p = (pred * w).sum(dim=-2, keepdim=True) / n
    mu_t = (target * w).sum(dim=-2, keepdim=True) / n
    p0, t0 = (pred - mu_p) * w.sqrt(), (target - mu_t) * w.sqrt()
    cov = t0.transpose(-1, -2) @ p0 / n  # (B, D, D)
    U, S, Vh = torch.linalg.svd(cov)
    d = torch.sign(torch.linalg.det(U @ Vh))
    E = torch.ones_like(S)
    E[..., -1] = d
    R = U @ torch.diag_embed(E) @ Vh
    var_p = (p0**2).sum(dim=(-1, -2)) / n[..., 0, 0]
    scale = (S * E).sum(dim=-1) / var_p.clamp_min(1e-12)
    return scale[..., None, None] * (pred - mu_p) @ R.transpose(-1, -2) + mu_t


def pa_mpjpe(pred, target, weight=None) -> torch.Tensor:
    """MPJPE after Procrustes alignment of each pose. Shapes as :func:`mpjpe`."""
    pred, target, weight = _as_tensors(pred, target, weight)
    return mpjpe(procrustes_align(pred, target, weight), target, weight)


def pck(pred, target, threshold: float, weight=None) -> torch.Tensor:
    """Share of valid joints whose error is at most ``threshold`` (px in 2D, e.g. 5 or 10).

    Shapes:
        pred, target: (B, K, D), weight: (B, K) -> scalar in [0, 1]
    """
    pred, target, weight = _as_tensors(pred, target, weight)
    hit = ((pred - target).norm(dim=-1) <= threshold).double()
    return _weighted_mean(hit, weight)


def pck3d(pred, target, weight=None, threshold_mm: float = 150.0) -> torch.Tensor:
    """3DPCK: share of valid joints within ``threshold_mm`` (150 mm by convention)."""
    return pck(pred, target, threshold_mm, weight)


def auc_pck(pred, target, weight=None, thresholds=AUC_THRESHOLDS_MM) -> torch.Tensor:
    """Area under the PCK curve: the mean of the PCK at each threshold (0..150 mm, 5 mm steps
    by default), in [0, 1]."""
    pred, target, weight = _as_tensors(pred, target, weight)
    err = (pred - target).norm(dim=-1)
    th = torch.as_tensor(thresholds, dtype=torch.float64, device=err.device)
    hits = (err[..., None] <= th).double()  # (B, K, T)
    return torch.stack([_weighted_mean(hits[..., i], weight) for i in range(len(th))]).mean()
