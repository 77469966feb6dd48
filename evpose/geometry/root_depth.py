"""RootNet's camera-distance factor (Moon et al., ICCV 2019)."""

from __future__ import annotations

import numpy as np

from .projection import _is_torch

#: RootNet's assumed real-world area of a person's bounding box, 2000 mm x 2000 mm.
A_REAL_MM2 = 2000.0 * 2000.0


def k_factor(alpha_x, alpha_y, box_area_px, area_real_mm2: float = A_REAL_MM2, min_area_px: float = 1.0):
    """``k = sqrt(alpha_x * alpha_y * A_real / A_img)``, the depth (mm) at which a box of
    ``A_real`` mm^2 would appear ``A_img`` px^2 large.

    The network then predicts a correction ``gamma`` and ``Z_root = gamma * k``.

    Args:
        alpha_x, alpha_y: focal lengths in pixels.
        box_area_px: area of the person's 2D box in pixels^2 (clamped to ``min_area_px``
            so that a degenerate box does not divide by zero).
        area_real_mm2: assumed real area, default 2000 mm x 2000 mm.

    Shapes:
        all broadcast together -> same shape
    """
    if _is_torch(box_area_px):
        return (alpha_x * alpha_y * area_real_mm2 / box_area_px.clamp_min(min_area_px)).sqrt()
    return np.sqrt(alpha_x * alpha_y * area_real_mm2 / np.maximum(box_area_px, min_area_px))


def box_area(xy, weight=None, min_side: float = 0.0):
    """Area (px^2) of the axis-aligned box around 2D points.

    Args:
        xy: points.
        weight: optional per-point mask (points with weight <= 0 are ignored).
        min_side: each side is taken as at least this long (default 0).

    Shapes:
        xy: (..., K, 2), weight: (..., K) -> (...)
    """
    if _is_torch(xy):
        import torch

        if weight is None:
            lo, hi = xy.amin(dim=-2), xy.amax(dim=-2)
        else:
            m = (weight > 0)[..., None]
            big = torch.finfo(xy.dtype).max
            lo = torch.where(m, xy, torch.full_like(xy, big)).amin(dim=-2)
            hi = torch.where(m, xy, torch.full_like(xy, -big)).amax(dim=-2)
            ok = m.any(dim=-2)
            lo, hi = torch.where(ok, lo, 0.0), torch.where(ok, hi, 0.0)
        wh = (hi - lo).clamp_min(min_side)
        return wh[..., 0] * wh[..., 1]
    xy = np.asarray(xy, dtype=np.float64)
    if weight is None:
        lo, hi = xy.min(axis=-2), xy.max(axis=-2)
    else:
        m = (np.asarray(weight) > 0)[..., None]
        lo = np.where(m, xy, np.inf).min(axis=-2)
        hi = np.where(m, xy, -np.inf).max(axis=-2)
        ok = m.any(axis=-2)
        lo, hi = np.where(ok, lo, 0.0), np.where(ok, hi, 0.0)
    wh = np.maximum(hi - lo, min_side)
    return wh[..., 0] * wh[..., 1]
