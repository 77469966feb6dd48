"""A static textured room seen by each camera: tiled floor, walls with panels, a ceiling.

Every pixel's ray is cast from the camera centre into a box-shaped room (floor at Z = 0);
the surface it meets gives the intensity. The room is random per recording (tones, tile
size, wall panels) and identical for all its cameras, so the views agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import Camera


@dataclass(frozen=True)
class Room:
    """A box room and its surface patterns (all lengths mm).

    Args:
        half_x, half_y: the walls stand at x = +-half_x and y = +-half_y.
        height: ceiling height.
        floor_tone, wall_tone, ceiling_tone: base reflectances.
        tile: floor tile size.
        grout: reflectance factor of the joints between tiles.
        panels: (N, 6) wall panels as rows (wall index 0..3, centre along the wall,
            centre height, width, height, tone factor); walls 0..3 are +x, -x, +y, -y.
        waves: (K, 4) low-frequency wall shading rows (fx, fz in 1/mm, phase, amplitude).
    """

    half_x: float
    half_y: float
    height: float
    floor_tone: float
    wall_tone: float
    ceiling_tone: float
    tile: float
    grout: float
    panels: np.ndarray
    waves: np.ndarray

    def to_dict(self) -> dict:
        return {
            "half_x": self.half_x, "half_y": self.half_y, "height": self.height,
            "floor_tone": self.floor_tone, "wall_tone": self.wall_tone, "ceiling_tone": self.ceiling_tone,
            "tile": self.tile, "grout": self.grout, "num_panels": int(len(self.panels)),
        }  # fmt: skip


def sample_room(rng: np.random.Generator, cameras: dict[str, Camera] | None = None) -> Room:
    """A random room that holds every camera (walls at least 1.5 m behind each).

    Args:
        rng: random generator.
        cameras: the cameras to enclose (default: a 5 m x 5 m room).
    """
    reach_x, reach_y = 2500.0, 2500.0
    if cameras:
        c = np.array([cam.center for cam in cameras.values()])
        reach_x = max(reach_x, float(np.abs(c[:, 0]).max()))
        reach_y = max(reach_y, float(np.abs(c[:, 1]).max()))
    half_x = reach_x + rng.uniform(1500, 3000)
    half_y = reach_y + rng.uniform(1500, 3000)
    height = max(3000.0, 1.2 * max([cam.center[2] for cam in (cameras or {}).values()] or [0.0])) + rng.uniform(0, 600)
    n = int(rng.integers(6, 14))
    panels = np.stack(
        [
            rng.integers(0, 4, n).astype(np.float64),
            rng.uniform(-0.8, 0.8, n),  # fraction of the wall's half length
            rng.uniform(400, 2200, n),
            rng.uniform(300, 1500, n),
            rng.uniform(300, 1600, n),
            rng.uniform(0.4, 1.8, n),
        ],
        axis=1,
    )
    K = 3
    ang = rng.uniform(0, np.pi, K)
    lam = rng.uniform(600, 2500, K)
    waves = np.stack([np.cos(ang) / lam, np.sin(ang) / lam, rng.uniform(0, 2 * np.pi, K), rng.uniform(0.04, 0.12, K)], axis=1)
    return Room(
        half_x=float(half_x),
        half_y=float(half_y),
        height=float(height),
        floor_tone=float(rng.uniform(0.15, 0.55)),
        wall_tone=float(rng.uniform(0.2, 0.7)),
        ceiling_tone=float(rng.uniform(0.4, 0.8)),
        tile=float(rng.uniform(300, 700)),
        grout=float(rng.uniform(0.55, 0.85)),
        panels=panels,
        waves=waves,
    )


def render_background(camera: Camera, room: Room) -> np.ndarray:
    """The room as seen by a camera: (H, W) float32 intensities in (0, 1].

    Pixel centres are the integer pixel coordinates (evpose's convention).
    """
    H, W = camera.height, camera.width
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    rays_cam = np.stack([xs, ys, np.ones_like(xs)], axis=-1) @ np.linalg.inv(camera.K).T
    d = rays_cam @ camera.R  # world directions (R^T applied to row vectors)
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    o = camera.center
    with np.errstate(divide="ignore", invalid="ignore"):
        # distances to the six planes (positive only)
        cand = np.stack(
            [
                (room.half_x - o[0]) / d[..., 0],
                (-room.half_x - o[0]) / d[..., 0],
                (room.half_y - o[1]) / d[..., 1],
                (-room.half_y - o[1]) / d[..., 1],
                (0.0 - o[2]) / d[..., 2],
                (room.height - o[2]) / d[..., 2],
            ],
            axis=-1,
        )
    cand = np.where(np.isfinite(cand) & (cand > 1e-6), cand, np.inf)
    face = np.argmin(cand, axis=-1)
    dist = np.take_along_axis(cand, face[..., None], axis=-1)[..., 0]
    P = o + d * dist[..., None]
    img = np.empty((H, W))

    # floor: tiles with darker joints (smooth edges) and a slow variation
    fl = face == 4
    if fl.any():
        px, py = P[fl, 0], P[fl, 1]
        gx = np.abs(((px / room.tile) % 1.0) - 0.5) * 2  # 1 at a joint, 0 mid-tile
        gy = np.abs(((py / room.tile) % 1.0) - 0.5) * 2
        joint = np.clip((np.maximum(gx, gy) - 0.94) / 0.06, 0, 1)
        tone = room.floor_tone * (1 + 0.08 * np.sin(px / 700.0 + 1.3) * np.sin(py / 900.0))
        img[fl] = tone * (1 - (1 - room.grout) * joint)
    # ceiling
    ce = face == 5
    img[ce] = room.ceiling_tone
    # walls: base tone, low-frequency shading waves, rectangular panels
    for wi in range(4):
        sel = face == wi
        if not sel.any():
            continue
        along = P[sel, 1] if wi < 2 else P[sel, 0]
        half = room.half_y if wi < 2 else room.half_x
        z = P[sel, 2]
        val = np.full(along.shape, room.wall_tone)
        for fx, fz, ph, amp in room.waves:
            val *= 1 + amp * np.sin(2 * np.pi * (fx * along + fz * z) + ph)
        for pw, pc, pz, pwid, phei, ptone in room.panels:
            if int(pw) != wi:
                continue
            cx = pc * half
            inside = (np.abs(along - cx) < pwid / 2) & (np.abs(z - pz) < phei / 2)
            val[inside] *= ptone
        img[sel] = val
    # vignetting of the lens (cos^4 law, mild)
    cos_t = 1.0 / np.linalg.norm(rays_cam, axis=-1)
    img *= 0.6 + 0.4 * cos_t**4
    return np.clip(img, 0.02, 1.0).astype(np.float32)
