"""Vectorised rendering of capsule bodies: a label map and a shaded, textured intensity image.

Each tapered capsule is drawn as its perspective projection: around the projected axis
``a' + s (b' - a')`` a pixel is inside when its distance to the axis point is below the
projected radius ``r(s) f / z(s)`` (exact for spheres and for capsules seen side-on, a
sub-pixel approximation otherwise at DHP19's 3 m). The visible surface is decided per
pixel by depth, ``z(s) - r_mm(s) sqrt(1 - q^2)`` with ``q`` the pixel's distance to the
axis relative to the radius, i.e. the front of the capsule's cross-section.

Shading is deferred: the depth pass keeps, per pixel, the winning primitive and its
surface coordinates; one pass over the covered pixels then computes the albedo (two-tone
split along the axis), the clothing texture (sinusoids in surface millimetres, so the
pattern moves with the limb) and Lambert shading from a fixed world light.

Work is bounded by each primitive's projected bounding box (the union over the batch of
instants), never the whole sensor, and a batch of instants is one set of array operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..geometry import Camera
from ..types import NUM_PARTS
from .body import Appearance, Capsules

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


@dataclass
class Frames:
    """Rendered instants of one camera inside a region.

    Shapes (B instants, h x w region):
        intensity: (B, h, w) float32, in (0, 1], or its log ``ln(I + eps)`` when rendered
            with ``log_eps`` (see ``is_log``)
        label: (B, h, w) int16, ``person * NUM_PARTS + part``, -1 = background
    """

    region: Region
    intensity: np.ndarray
    label: np.ndarray
    is_log: bool = False


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


#: Depth keys (int32): depth in 1/8 mm in the high bits, the primitive index in the low 6.
_KEY_BITS = 6
_KEY_NONE = np.int32(np.iinfo(np.int32).max)
#: Depth added outside a capsule (mm): such keys never win against a real surface.
_FAR_MM = 30000.0
#: Keys below this belong to a drawn surface (depth < _FAR_MM).
_KEY_DRAWN = np.int32(int(_FAR_MM * 8) << _KEY_BITS)


class CapsuleRenderer:
    """Renders capsule bodies seen by one camera over a static background.

    Args:
        camera: the camera.
        background: (H, W) static intensity image in (0, 1].
        appearance: per-primitive surface tables, aligned with the capsules passed to
            :meth:`render` (concatenate the bodies' tables for several people).
        lengths: (M,) axis lengths in mm (constant: every primitive is rigid).
        radii: (M, 2) radii in mm at a and b.
        codes: (M,) label code of every primitive, ``person * NUM_PARTS + part``.
        light: (3,) world direction towards the light (default from above, in front).
        ambient: share of light that reaches every surface (default 0.45).
        texel: texture grid step in mm (default 2).
    """

    def __init__(
        self,
        camera: Camera,
        background: np.ndarray,
        appearance: Appearance,
        lengths: np.ndarray,
        radii: np.ndarray,
        codes: np.ndarray,
        light=(0.3, -0.5, 0.81),
        ambient: float = 0.45,
        texel: float = 2.0,
    ):
        self.camera = camera
        H, W = camera.height, camera.width
        background = np.asarray(background, dtype=np.float32)
        if background.shape != (H, W):
            raise ValueError(f"background has shape {background.shape}, camera {camera.name!r} is {H}x{W}")
        self.background = background
        self.codes = np.asarray(codes, dtype=np.int16)
        M = len(self.codes)
        if M >= 1 << _KEY_BITS:
            raise ValueError(f"at most {(1 << _KEY_BITS) - 1} primitives per scene, got {M}")
        lengths = np.asarray(lengths, dtype=np.float64)
        radii = np.asarray(radii, dtype=np.float64)
        if lengths.shape != (M,) or radii.shape != (M, 2) or len(appearance.albedo0) != M:
            raise ValueError(
                f"{M} primitives but lengths {lengths.shape}, radii {radii.shape}, appearance {len(appearance.albedo0)}"
            )
        self.atlas = TextureAtlas(appearance, lengths, radii, texel)
        l = np.asarray(light, dtype=np.float64)
        l = l / np.linalg.norm(l)
        self.light_cam = (camera.R @ l).astype(np.float32)
        self.ambient = float(ambient)

    # ------------------------------------------------------------------ passes
    def render(
        self,
        proj: Projected,
        boxes: np.ndarray,
        region: Region,
        log_eps: float | None = None,
        out: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Frames:
        """Render B instants inside ``region``.

        Args:
            proj: the capsules projected into this camera (:func:`project_capsules`).
            boxes: their pixel boxes (:func:`capsule_boxes`), (B, M, 4).
            region: the rectangle to render (must hold every box to be complete).
            log_eps: if given, return ``ln(I + log_eps)`` instead of ``I`` (computed only
                where a body is drawn; the background's log is cached).
            out: optional (intensity, label) arrays of shape (B, h, w), float32 and int16,
                to render into (default: new arrays).
        """
        B, M = proj.a.shape[:2]
        h, w = region.shape
        ys, xs = region.slices
        bg = self.background if log_eps is None else self._log_background(log_eps)
        if out is None:
            intensity = np.empty((B, h, w), dtype=np.float32)
            label = np.empty((B, h, w), dtype=np.int16)
        else:
            intensity, label = out
            if intensity.shape != (B, h, w) or label.shape != (B, h, w):
                raise ValueError(f"out arrays must be {(B, h, w)}, got {intensity.shape} and {label.shape}")
        intensity[:] = bg[ys, xs]
        label[:] = -1
        if region.empty:
            return Frames(region, intensity, label, log_eps is not None)
        live = (boxes[..., 1] > boxes[..., 0]) & (boxes[..., 3] > boxes[..., 2])  # (B, M)
        g = _Geometry(proj, live)
        key = np.full((B, h, w), _KEY_NONE, dtype=np.int32)
        f32 = np.float32
        for m in range(M):
            lv = live[:, m]
            if not lv.any():
                continue
            bx = boxes[lv, m]
            # Each instant is drawn in its own window of the largest box size (placed at
            # its box, kept inside the region); when the boxes hardly move, one window
            # (their union) for all instants is cheaper.
            hb = int((bx[:, 1] - bx[:, 0]).max())
            wb = int((bx[:, 3] - bx[:, 2]).max())
            uy0, uy1 = max(int(bx[:, 0].min()), region.y0), min(int(bx[:, 1].max()), region.y1)
            ux0, ux1 = max(int(bx[:, 2].min()), region.x0), min(int(bx[:, 3].max()), region.x1)
            if (uy1 - uy0) * (ux1 - ux0) <= 1.5 * hb * wb or B == 1:
                oy = np.full(B, uy0)
                ox = np.full(B, ux0)
                hb, wb, shared = uy1 - uy0, ux1 - ux0, True
            else:
                hb, wb = min(hb, h), min(wb, w)
                oy = np.clip(boxes[:, m, 0], region.y0, region.y1 - hb)
                ox = np.clip(boxes[:, m, 2], region.x0, region.x1 - wb)
                shared = False
            if hb <= 0 or wb <= 0:
                continue
            # pixel offsets from end a, then along / across the axis (pixels)
            dx = np.arange(wb, dtype=f32)[None, None, :] + (ox.astype(f32)[:, None, None] - g.ax[m])
            dy = np.arange(hb, dtype=f32)[None, :, None] + (oy.astype(f32)[:, None, None] - g.ay[m])
            along = dx * g.ux[m] + dy * g.uy[m]
            across = dy * g.ux[m] - dx * g.uy[m]
            # the nearest axis point is at clip(along, 0, length); s = that / length
            alc = np.maximum(along, f32(0.0))
            np.minimum(alc, g.length[m], out=alc)
            along -= alc
            along *= along
            across *= across
            d2 = np.add(along, across, out=along)  # squared distance to the axis
            r = alc * g.dr_per_px[m]
            r += g.ra[m]
            r *= r
            q2 = np.divide(d2, r, out=d2)
            # front-surface depth: the axis depth minus the cross-section's bulge;
            # outside the capsule it is pushed _FAR_MM away
            arg = np.subtract(f32(1.0), q2, out=q2)
            far = arg <= 0
            np.maximum(arg, f32(0.0), out=arg)
            bulge = np.sqrt(arg, out=arg)
            bulge *= alc * g.drm_per_px[m] + g.rm0[m]
            z = alc * g.dz_per_px[m]
            z += g.za[m]
            z -= bulge
            np.add(z, f32(_FAR_MM), out=z, where=far)
            z *= f32(8.0)
            k = z.astype(np.int32)
            k <<= _KEY_BITS
            k |= m
            if shared:
                sub = key[:, oy[0] - region.y0 : oy[0] - region.y0 + hb, ox[0] - region.x0 : ox[0] - region.x0 + wb]
                np.minimum(sub, k, out=sub)
            else:
                for bi in np.flatnonzero(lv):
                    y0, x0 = int(oy[bi]) - region.y0, int(ox[bi]) - region.x0
                    sub = key[bi, y0 : y0 + hb, x0 : x0 + wb]
                    np.minimum(sub, k[bi], out=sub)
        self._shade(g, key, region, intensity, label, log_eps)
        return Frames(region, intensity, label, log_eps is not None)

    def _log_background(self, eps: float) -> np.ndarray:
        cached = getattr(self, "_log_bg", None)
        if cached is None or cached[0] != eps:
            self._log_bg = (eps, np.log(self.background + np.float32(eps)))
        return self._log_bg[1]

    def _shade(self, g: "_Geometry", key: np.ndarray, region: Region, intensity, label, log_eps) -> None:
        kf = key.ravel()
        idx = np.flatnonzero(kf < _KEY_DRAWN)
        if idx.size == 0:
            return
        B, h, w = key.shape
        k = np.take(kf, idx, mode="clip")
        m = (k & ((1 << _KEY_BITS) - 1)).astype(np.int32)
        i32 = idx.astype(np.int32)
        b = i32 // (h * w)
        rest = i32 - b * (h * w)
        py = rest // w
        px = rest - py * w
        G = np.take(g.table, b * g.M + m, axis=0, mode="clip")  # (N, F) constants of (b, m)
        ax, ay, ux, uy, length, ra, dr_per_px, rm0, drm_per_px = (G[:, i] for i in range(9))
        # recompute the winner's surface coordinates at the pixel (cheaper than storing them)
        dx = (px + region.x0).astype(np.float32) - ax
        dy = (py + region.y0).astype(np.float32) - ay
        alc = np.maximum(dx * ux + dy * uy, np.float32(0.0))
        np.minimum(alc, length, out=alc)
        ex = dx - alc * ux
        ey = dy - alc * uy
        rinv = 1.0 / (ra + alc * dr_per_px)
        qx = ex * rinv
        qy = ey * rinv
        r_mm = rm0 + alc * drm_per_px
        v_mm = (ux * qy - uy * qx) * r_mm
        s = alc / np.maximum(length, np.float32(1e-6))
        albedo = self.atlas.lookup(m, s, v_mm)
        # Lambert shading with the surface normal (qx, qy, -sqrt(1 - q^2)) in camera axes
        nz = np.maximum(1.0 - qx * qx - qy * qy, 0.0)
        np.sqrt(nz, out=nz)
        lx, ly, lz = self.light_cam
        ndl = qx * lx + qy * ly - nz * lz
        np.maximum(ndl, 0.0, out=ndl)
        val = albedo * (np.float32(self.ambient) + np.float32(1.0 - self.ambient) * ndl)
        np.clip(val, 0.01, 1.0, out=val)
        if log_eps is not None:
            val += np.float32(log_eps)
            np.log(val, out=val)
        intensity.ravel()[idx] = val
        label.ravel()[idx] = np.take(self.codes, m, mode="clip")


class _Geometry:
    """Per (instant, primitive) constants of the projected capsules, float32.

    Lengths are in pixels along the projected axis (unit direction ``ux, uy``): the radius
    in pixels is ``ra + along * dr_per_px``, in mm ``rm0 + along * drm_per_px``, the axis
    depth ``za + along * dz_per_px``. ``x[m]`` are (B, 1, 1) for broadcasting over a box;
    ``table`` holds the shading constants as a row per ``b * M + m`` for gathers. An
    instant where a primitive is not drawn gets its depth pushed far away.
    """

    TABLE = ("ax", "ay", "ux", "uy", "length", "ra", "dr_per_px", "rm0", "drm_per_px")
    BROADCAST = ("ax", "ay", "ux", "uy", "length", "ra", "dr_per_px", "rm0", "drm_per_px", "za", "dz_per_px")

    def __init__(self, proj: Projected, live: np.ndarray):
        B, M = proj.a.shape[:2]
        self.M = M
        ax, ay = proj.a[..., 0], proj.a[..., 1]
        vx, vy = proj.b[..., 0] - ax, proj.b[..., 1] - ay
        length = np.sqrt(vx * vx + vy * vy)
        ok = length > 1e-3
        inv = np.where(ok, 1.0 / np.where(ok, length, 1.0), 0.0)
        ux = np.where(ok, vx * inv, 1.0)
        uy = np.where(ok, vy * inv, 0.0)
        vals = {
            "ax": ax, "ay": ay, "ux": ux, "uy": uy, "length": np.where(ok, length, 0.0),
            "ra": proj.ra, "dr_per_px": (proj.rb - proj.ra) * inv,
            "rm0": np.broadcast_to(proj.rm_a, (B, M)), "drm_per_px": (proj.rm_b - proj.rm_a) * inv,
            "za": np.where(live, proj.za, 2 * _FAR_MM), "dz_per_px": (proj.zb - proj.za) * inv,
        }  # fmt: skip
        self.table = np.ascontiguousarray(np.stack([vals[n] for n in self.TABLE], axis=-1).reshape(B * M, -1), dtype=np.float32)
        for name in self.BROADCAST:
            v = np.ascontiguousarray(np.asarray(vals[name], dtype=np.float32).T)  # (M, B)
            setattr(self, name, v[:, :, None, None])
def label_code(person, part):
    """Combined label ``person * NUM_PARTS + part`` (-1 stays -1)."""
    return np.where(np.asarray(part) < 0, -1, np.asarray(person) * NUM_PARTS + np.asarray(part))


def split_label(code):
    """Inverse of :func:`label_code`: (part, person), both -1 for background."""
    code = np.asarray(code)
    bg = code < 0
    return np.where(bg, -1, code % NUM_PARTS), np.where(bg, -1, code // NUM_PARTS)
