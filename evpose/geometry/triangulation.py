"""Multi-view triangulation (linear DLT)."""

from __future__ import annotations

import numpy as np

from .projection import _is_torch


def triangulate_dlt(xy, P, weights=None):
    """Triangulate points seen by V >= 2 cameras with the linear DLT.

    Each view contributes the rows ``x * P[2] - P[0]`` and ``y * P[2] - P[1]`` of the
    homogeneous system ``A X = 0``; the rows are normalised to unit length (so the
    solution does not depend on the scale of each matrix) and optionally weighted
    (e.g. by a confidence, 0 drops a view). The solution is the right singular vector
    of the smallest singular value.

    Args:
        xy: pixel positions per view (evpose convention).
        P: projection matrices per view.
        weights: per view and point weights (default 1).

    Shapes:
        xy: (V, ..., 2), P: (V, 3, 4), weights: (V, ...) -> (..., 3)
    """
    torch_mode = _is_torch(xy)
    V = xy.shape[0]
    if V < 2:
        raise ValueError(f"triangulation needs at least 2 views, got {V}")
    if P.shape[0] != V:
        raise ValueError(f"xy has {V} views but P has {P.shape[0]} matrices")
    batch = xy.shape[1:-1]
    if torch_mode:
        import torch

        xy_ = xy.reshape(V, -1, 2)
        Pv = P[:, None].to(xy_.dtype)  # (V, 1, 3, 4)
        rows_x = xy_[..., 0:1] * Pv[..., 2, :] - Pv[..., 0, :]
        rows_y = xy_[..., 1:2] * Pv[..., 2, :] - Pv[..., 1, :]
        A = torch.stack([rows_x, rows_y], dim=1)  # (V, 2, M, 4)
        A = A / A.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        if weights is not None:
            A = A * weights.reshape(V, 1, -1, 1).to(A.dtype)
        A = A.permute(2, 0, 1, 3).reshape(-1, 2 * V, 4)
        _, _, Vh = torch.linalg.svd(A)
        Xh = Vh[:, -1, :]
        X = Xh[:, :3] / Xh[:, 3:4]
        return X.reshape(*batch, 3)
    xy_ = np.asarray(xy, dtype=np.float64).reshape(V, -1, 2)
    Pv = np.asarray(P, dtype=np.float64)[:, None]
    rows_x = xy_[..., 0:1] * Pv[..., 2, :] - Pv[..., 0, :]
    rows_y = xy_[..., 1:2] * Pv[..., 2, :] - Pv[..., 1, :]
    A = np.stack([rows_x, rows_y], axis=1)
    A = A / np.maximum(np.linalg.norm(A, axis=-1, keepdims=True), 1e-12)
    if weights is not None:
        A = A * np.asarray(weights, dtype=np.float64).reshape(V, 1, -1, 1)
    A = A.transpose(2, 0, 1, 3).reshape(-1, 2 * V, 4)
    _, _, Vh = np.linalg.svd(A)
    Xh = Vh[:, -1, :]
    X = Xh[:, :3] / Xh[:, 3:4]
    return X.reshape(*batch, 3)
