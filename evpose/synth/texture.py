"""Clothing and skin patterns baked into a texture atlas, looked up in surface millimetres."""

from __future__ import annotations

import numpy as np

from .clothing import Appearance


class TextureAtlas:
    """Every primitive's surface pattern sampled on a grid in surface millimetres.

    Texel ``(i, j)`` of primitive ``m`` holds the albedo times the clothing texture at
    ``u = i * texel`` along the axis and ``v = j * texel - r_max`` around it (see
    :class:`~evpose.synth.body.Appearance`); a lookup is one gather.

    Args:
        appearance: surface tables of the M primitives.
        lengths: (M,) axis lengths, mm.
        radii: (M, 2) radii, mm.
        texel: grid step, mm (default 2: about a quarter pixel at DHP19's 3 m).
    """

    def __init__(self, appearance: Appearance, lengths: np.ndarray, radii: np.ndarray, texel: float = 2.0):
        lengths = np.asarray(lengths, dtype=np.float64)
        rmax = np.asarray(radii, dtype=np.float64).max(axis=1)
        self.texel = float(texel)
        self.nu = (np.ceil(lengths / texel) + 2).astype(np.int64)
        self.nv = (np.ceil(2 * rmax / texel) + 2).astype(np.int64)
        sizes = self.nu * self.nv
        self.offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        tables = []
        for m in range(len(lengths)):
            u = np.arange(self.nu[m]) * texel
            v = np.arange(self.nv[m]) * texel - rmax[m]
            U, V = np.meshgrid(u, v, indexing="ij")
            step = np.clip((U - appearance.split_u[m]) / 8.0 + 0.5, 0.0, 1.0)
            alb = appearance.albedo0[m] + (appearance.albedo1[m] - appearance.albedo0[m]) * step
            tex = np.ones_like(U)
            for fu, fv, ph, amp in appearance.texture[m]:
                tex += amp * np.sin(2 * np.pi * (fu * U + fv * V) + ph)
            tables.append((alb * tex).ravel())
        self.values = np.concatenate(tables).astype(np.float32)
        # per-primitive lookup constants
        self.u_scale = (lengths / texel).astype(np.float32)  # s -> u texels
        self.v_shift = (rmax / texel + 0.5).astype(np.float32)
        self.nv32 = self.nv.astype(np.int32)
        self.offset = self.offset.astype(np.int32)

    def lookup(self, m: np.ndarray, s: np.ndarray, v_mm: np.ndarray) -> np.ndarray:
        """Surface value at axial fraction ``s`` and around-axis ``v_mm`` of primitives ``m``.

        Shapes: all (N,) -> (N,) float32
        """
        nv = np.take(self.nv32, m, mode="clip")
        iu = (s * np.take(self.u_scale, m, mode="clip") + np.float32(0.5)).astype(np.int32)
        iv = (v_mm * np.float32(1.0 / self.texel) + np.take(self.v_shift, m, mode="clip")).astype(np.int32)
        np.maximum(iv, 0, out=iv)
        np.minimum(iv, nv - 1, out=iv)
        return np.take(self.values, np.take(self.offset, m, mode="clip") + iu * nv + iv, mode="clip")
