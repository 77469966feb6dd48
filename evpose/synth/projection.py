"""Capsules seen by a camera: projected axes and radii, pixel boxes and regions."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..geometry import Camera
from .body import Capsules

#: Nearest depth (mm) a capsule end may have; closer or behind the camera is not drawn.
NEAR_MM = 50.0


class Region(NamedTuple):
    """A pixel rectangle ``[y0, y1) x [x0, x1)`` of the sensor."""

    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.y1 - self.y0, self.x1 - self.x0)

    @property
    def empty(self) -> bool:
        return self.y1 <= self.y0 or self.x1 <= self.x0

    def union(self, other: "Region | None") -> "Region":
        if other is None or other.empty:
            return self
        if self.empty:
            return other
        return Region(min(self.y0, other.y0), max(self.y1, other.y1), min(self.x0, other.x0), max(self.x1, other.x1))

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)


EMPTY_REGION = Region(0, 0, 0, 0)


class Projected(NamedTuple):
    """Capsules projected into one camera.

    Shapes (B instants, M primitives):
        a, b: (B, M, 2) pixel positions of the axis ends (x, y)
        za, zb: (B, M) depths, mm
        ra, rb: (B, M) projected radii, px
        visible: (B, M) both ends in front of the camera
        rm_a, rm_b: (M,) radii in mm
    """

    a: np.ndarray
    b: np.ndarray
    za: np.ndarray
    zb: np.ndarray
    ra: np.ndarray
    rb: np.ndarray
    visible: np.ndarray
    rm_a: np.ndarray
    rm_b: np.ndarray


def project_capsules(camera: Camera, caps: Capsules) -> Projected:
    """Project capsule axes and radii into a camera (radius = r * f / depth, f the mean focal).

    Shapes:
        caps.a, caps.b: (B, M, 3) -> Projected
    """
    f = 0.5 * (camera.K[0, 0] + camera.K[1, 1])
    out = []
    for X, r in ((caps.a, caps.ra), (caps.b, caps.rb)):
        Xc = X @ camera.R.T + camera.t
        z = Xc[..., 2]
        zs = np.maximum(z, NEAR_MM)
        uv = (Xc @ camera.K.T)[..., :2] / zs[..., None]
        out.append((uv, z, r[None, :] * f / zs))
    (pa, za, ra), (pb, zb, rb) = out
    visible = (za > NEAR_MM) & (zb > NEAR_MM)
    return Projected(pa, pb, za, zb, ra, rb, visible, np.asarray(caps.ra, float), np.asarray(caps.rb, float))


def capsule_boxes(proj: Projected, width: int, height: int, margin: float = 1.0) -> np.ndarray:
    """Integer pixel boxes ``(y0, y1, x0, x1)`` (half-open, clipped) around every capsule.

    Shapes:
        -> (B, M, 4) int64; an invisible or off-sensor capsule gets an empty box
    """
    lo = np.minimum(proj.a - proj.ra[..., None], proj.b - proj.rb[..., None]) - margin
    hi = np.maximum(proj.a + proj.ra[..., None], proj.b + proj.rb[..., None]) + margin
    x0 = np.clip(np.floor(lo[..., 0]), 0, width)
    x1 = np.clip(np.ceil(hi[..., 0]) + 1, 0, width)
    y0 = np.clip(np.floor(lo[..., 1]), 0, height)
    y1 = np.clip(np.ceil(hi[..., 1]) + 1, 0, height)
    box = np.stack([y0, y1, x0, x1], axis=-1).astype(np.int64)
    box[~proj.visible] = 0
    return box


def boxes_region(boxes: np.ndarray) -> Region:
    """Union of non-empty boxes (any leading shape). Shapes: (..., 4) -> Region."""
    b = boxes.reshape(-1, 4)
    ok = (b[:, 1] > b[:, 0]) & (b[:, 3] > b[:, 2])
    if not ok.any():
        return EMPTY_REGION
    b = b[ok]
    return Region(int(b[:, 0].min()), int(b[:, 1].max()), int(b[:, 2].min()), int(b[:, 3].max()))
