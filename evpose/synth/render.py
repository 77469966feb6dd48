"""Vectorised rendering of capsule bodies: a label map and a shaded, textured intensity image.

Each tapered capsule is drawn as its perspective projection: around the projected axis
``a' + s (b' - a')`` a pixel is inside when its distance to the axis point is below the
projected radius ``r(s) f / z(s)`` (exact for spheres and for capsules seen side-on, a
sub-pixel approximation otherwise at DHP19's 3 m). The visible surface is decided per
pixel by depth, ``z(s) - r_mm(s) sqrt(1 - q^2)`` with ``q`` the pixel's distance to the
axis relative to the radius, i.e. the front of the capsule's cross-section.

Depth pass: every primitive writes ``min(key, depth * 8 << 6 | primitive)`` into an int32
key buffer, so one ``np.minimum`` per primitive resolves occlusion. Shading is deferred:
one pass over the covered pixels recomputes the winner's surface coordinates there and
looks up its albedo and clothing texture (:class:`~evpose.synth.texture.TextureAtlas`, in
surface millimetres, so patterns move with the limb), lit by Lambert shading from a
fixed world light.

Work is bounded by each primitive's projected box (one window per instant, or their
union when the primitive hardly moves over the batch), never the whole sensor, and a
batch of instants is one set of array operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import Camera
from ..types import NUM_PARTS
from .clothing import Appearance
from .projection import Projected, Region
from .texture import TextureAtlas

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
        atlas: a prepared texture atlas of these primitives (default: made here).
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
        atlas: TextureAtlas | None = None,
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
        if atlas is None:
            atlas = TextureAtlas(appearance, lengths, radii, texel)
        elif len(atlas.nu) != M:
            raise ValueError(f"texture atlas holds {len(atlas.nu)} primitives, the renderer {M}")
        self.atlas = atlas
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
        # Each instant is drawn in its own window of the largest box size (placed at its
        # box, kept inside the region); when the boxes hardly move, one window (their
        # union) for all instants is cheaper. Window sizes for all primitives at once:
        big = np.iinfo(np.int64).max
        sizes = np.where(live[..., None], boxes[..., [1, 3]] - boxes[..., [0, 2]], 0).max(axis=0)  # (M, 2)
        lo = np.maximum(np.where(live[..., None], boxes[..., [0, 2]], big).min(axis=0), [region.y0, region.x0])
        hi = np.minimum(np.where(live[..., None], boxes[..., [1, 3]], -1).max(axis=0), [region.y1, region.x1])
        union = np.maximum(hi - lo, 0)
        shared_m = (union[:, 0] * union[:, 1] <= 1.5 * sizes[:, 0] * sizes[:, 1]) | (B == 1)
        origin_y = np.clip(boxes[..., 0], region.y0, region.y1 - np.minimum(sizes[:, 0], h)).T  # (M, B)
        origin_x = np.clip(boxes[..., 2], region.x0, region.x1 - np.minimum(sizes[:, 1], w)).T
        any_live = live.any(axis=0)
        for m in range(M):
            if not any_live[m]:
                continue
            if shared_m[m]:
                (hb, wb), (y0, x0) = union[m].tolist(), lo[m].tolist()
                if hb <= 0 or wb <= 0:
                    continue
                k = self._keys(g, m, slice(None), np.full(B, y0), np.full(B, x0), hb, wb)
                sub = key[:, y0 - region.y0 : y0 - region.y0 + hb, x0 - region.x0 : x0 - region.x0 + wb]
                np.minimum(sub, k, out=sub)
            else:
                hb, wb = min(int(sizes[m, 0]), h), min(int(sizes[m, 1]), w)
                oy, ox = origin_y[m], origin_x[m]
                k = self._keys(g, m, slice(None), oy, ox, hb, wb)
                for bi in np.flatnonzero(live[:, m]).tolist():
                    y0, x0 = int(oy[bi]) - region.y0, int(ox[bi]) - region.x0
                    sub = key[bi, y0 : y0 + hb, x0 : x0 + wb]
                    np.minimum(sub, k[bi], out=sub)
        self._shade(g, key, region, intensity, label, log_eps)
        return Frames(region, intensity, label, log_eps is not None)

    def _keys(self, g: "_Geometry", m: int, sl: slice, oy: np.ndarray, ox: np.ndarray, hb: int, wb: int) -> np.ndarray:
        """Depth keys of primitive ``m`` over windows ``hb x wb`` at (oy, ox), instants ``sl``.

        Shapes: oy, ox (b,) -> (b, hb, wb) int32
        """
        f32 = np.float32
        # pixel offsets from end a, then along / across the axis (pixels)
        dx = np.arange(wb, dtype=f32)[None, None, :] + (ox.astype(f32)[:, None, None] - g.ax[m][sl])
        dy = np.arange(hb, dtype=f32)[None, :, None] + (oy.astype(f32)[:, None, None] - g.ay[m][sl])
        ux, uy = g.ux[m][sl], g.uy[m][sl]
        along = dx * ux + dy * uy
        across = dy * ux - dx * uy
        # the nearest axis point is at clip(along, 0, length); s = that / length
        alc = np.maximum(along, f32(0.0))
        np.minimum(alc, g.length[m][sl], out=alc)
        along -= alc
        along *= along
        across *= across
        d2 = np.add(along, across, out=along)  # squared distance to the axis
        r = alc * g.dr_per_px[m][sl]
        r += g.ra[m][sl]
        r *= r
        q2 = np.divide(d2, r, out=d2)
        # front-surface depth: the axis depth minus the cross-section's bulge; outside
        # the capsule it is pushed _FAR_MM away
        arg = np.subtract(f32(1.0), q2, out=q2)
        far = arg <= 0
        np.maximum(arg, f32(0.0), out=arg)
        bulge = np.sqrt(arg, out=arg)
        bulge *= alc * g.drm_per_px[m][sl] + g.rm0[m][sl]
        z = alc * g.dz_per_px[m][sl]
        z += g.za[m][sl]
        z -= bulge
        np.add(z, f32(_FAR_MM), out=z, where=far)
        z *= f32(8.0)
        k = z.astype(np.int32)
        k <<= _KEY_BITS
        k |= m
        return k

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
