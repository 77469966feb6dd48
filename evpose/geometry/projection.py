"""Projection, back-projection and decomposition of pinhole cameras.

The functions take numpy arrays or torch tensors (all arguments of one call of the same
kind) and return the same kind; the torch paths are differentiable and device-agnostic.
"""

from __future__ import annotations

import numpy as np


def project_points(X, P):
    """Project 3D points with a 3x4 matrix.

    Args:
        X: points, world (or camera) millimetres.
        P: projection matrix (or a batch of them).

    Shapes:
        X: (..., N, 3), P: (3, 4) or (..., 3, 4) -> (..., N, 2)
    """
    uvw = X @ P[..., :3].transpose(-1, -2) if _is_torch(X) else X @ np.swapaxes(P[..., :3], -1, -2)
    uvw = uvw + P[..., None, :, 3]
    return uvw[..., :2] / uvw[..., 2:3]


def back_project(xy, depth, K):
    """Pixels plus camera-frame depth to camera-frame 3D points.

    Args:
        xy: pixel positions (evpose convention).
        depth: camera-frame Z in millimetres.
        K: intrinsics.

    Shapes:
        xy: (..., N, 2), depth: (..., N), K: (3, 3) or (..., 3, 3) -> (..., N, 3)
    """
    fx, fy = K[..., 0, 0, None], K[..., 1, 1, None]
    cx, cy = K[..., 0, 2, None], K[..., 1, 2, None]
    s = K[..., 0, 1, None]
    y_n = (xy[..., 1] - cy) / fy
    x_n = (xy[..., 0] - cx - s * y_n) / fx
    if _is_torch(xy):
        import torch

        return torch.stack([x_n * depth, y_n * depth, depth], dim=-1)
    return np.stack([x_n * depth, y_n * depth, depth], axis=-1)


def camera_to_world(Xc, R, t):
    """Camera-frame points to world points, ``X = R^T (Xc - t)``.

    Shapes:
        Xc: (..., N, 3), R: (..., 3, 3), t: (..., 3) -> (..., N, 3)
    """
    return (Xc - t[..., None, :]) @ R


def world_to_camera(X, R, t):
    """World points to the camera frame, ``Xc = R X + t``.

    Shapes:
        X: (..., N, 3), R: (..., 3, 3), t: (..., 3) -> (..., N, 3)
    """
    Rt = R.transpose(-1, -2) if _is_torch(R) else np.swapaxes(R, -1, -2)
    return X @ Rt + t[..., None, :]


def decompose_projection(P: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split a 3x4 projection matrix into ``K, R, t`` with ``P ~ K [R | t]``.

    The overall scale and sign of ``P`` are free; the result has ``K[2, 2] = 1``,
    positive focal lengths, ``det(R) = +1`` and points in front of the camera at
    positive depth.

    Shapes:
        P: (3, 4) -> K (3, 3), R (3, 3), t (3,)
    """
    P = np.asarray(P, dtype=np.float64)
    if P.shape != (3, 4) or not np.all(np.isfinite(P)):
        raise ValueError(f"a projection matrix must be a finite 3x4 array, got shape {P.shape}")
    M = P[:, :3]
    if abs(np.linalg.det(M)) < 1e-300:
        raise ValueError("projection matrix has a singular 3x3 part; it is not a finite camera")
    if np.linalg.det(M) < 0:
        P = -P
        M = P[:, :3]
    # RQ decomposition of M through QR of the row-and-column reversed transpose.
    rev = np.eye(3)[::-1]
    q, r = np.linalg.qr((rev @ M).T)
    K = rev @ r.T @ rev
    R = rev @ q.T
    # Make K's diagonal positive; D is its own inverse and keeps K @ R unchanged.
    D = np.diag(np.sign(np.diag(K)))
    K, R = K @ D, D @ R
    scale = K[2, 2]
    K = K / scale
    t = np.linalg.solve(K, P[:, 3] / scale)
    if np.linalg.det(R) < 0:  # only possible through D; P was made det-positive above
        raise ValueError("projection matrix decomposes to a reflection")
    return K, R, t


def compose_projection(K, R, t):
    """``K @ [R | t]``. Shapes: K (3, 3), R (3, 3), t (3,) -> (3, 4)."""
    if _is_torch(K):
        import torch

        return K @ torch.cat([R, t[:, None]], dim=1)
    return np.asarray(K) @ np.concatenate([np.asarray(R), np.asarray(t)[:, None]], axis=1)


def _is_torch(a) -> bool:
    return type(a).__module__.startswith("torch")
