"""Cameras of a synthetic scene: DHP19's four by default, or generic pinhole cameras.

A camera option is either ``"dhp19"`` or a list of camera specs, each one of

- the name of one of DHP19's cameras (``"cam1"`` .. ``"cam4"``), e.g. ``["cam2", "cam3"]``;
- a :class:`evpose.geometry.Camera`;
- ``{"name", "K", "R", "t", "width", "height"}`` (K 3x3, R 3x3 world -> camera, t mm);
- ``{"name", "P", "width", "height"}`` (3x4 projection in evpose's pixel convention);
- ``{"name", "position", "look_at", "focal", "width", "height"}`` (a camera placed in the
  world, mm, looking at a point; ``focal`` in pixels, principal point at the centre).

Where the person stands is computed from the cameras (:func:`standing_point`), so a
generic rig also sees the whole body.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

from ..geometry import Camera, dhp19_cameras
from ..types import DHP19_SENSOR_SIZE

CAMERA_SPEC_KINDS = ("K/R/t", "P", "position/look_at/focal")


def look_at_camera(
    name: str,
    position,
    look_at,
    focal: float,
    width: int,
    height: int,
    up=(0.0, 0.0, 1.0),
) -> Camera:
    """A pinhole camera at ``position`` looking at ``look_at`` (world mm), square pixels,
    principal point at the image centre, image rows pointing down the world's ``up``.

    Args:
        name: camera name.
        position: (3,) camera centre, mm.
        look_at: (3,) point on the optical axis, mm.
        focal: focal length in pixels.
        width, height: sensor size in pixels.
        up: (3,) world up direction (default +Z).
    """
    c = np.asarray(position, dtype=np.float64)
    z = np.asarray(look_at, dtype=np.float64) - c
    if np.linalg.norm(z) == 0:
        raise ValueError(f"camera {name!r}: position and look_at coincide")
    z /= np.linalg.norm(z)
    x = np.cross(z, np.asarray(up, dtype=np.float64))
    if np.linalg.norm(x) < 1e-9:
        raise ValueError(f"camera {name!r}: looks along the up direction; give another 'up'")
    x /= np.linalg.norm(x)
    y = np.cross(z, x)  # image rows go down
    R = np.stack([x, y, z])
    K = np.array([[focal, 0, (width - 1) / 2.0], [0, focal, (height - 1) / 2.0], [0, 0, 1.0]])
    return Camera(K=K, R=R, t=-R @ c, width=width, height=height, name=name)


def _camera_from_spec(spec, i: int) -> Camera:
    if isinstance(spec, str):
        dhp = dhp19_cameras()
        if spec not in dhp:
            raise ValueError(f"unknown camera {spec!r}; valid DHP19 names: {', '.join(dhp)} (or a camera spec)")
        cam = dhp[spec]
    elif isinstance(spec, Camera):
        cam = spec
    elif isinstance(spec, Mapping):
        spec = dict(spec)
        name = str(spec.get("name") or f"cam{i + 1}")
        for key in ("width", "height"):
            if key not in spec:
                raise ValueError(f"camera {name!r}: missing {key!r} (sensor size in pixels)")
        w, h = int(spec["width"]), int(spec["height"])
        if "K" in spec and "R" in spec and "t" in spec:
            cam = Camera(K=spec["K"], R=spec["R"], t=spec["t"], width=w, height=h, name=name)
        elif "P" in spec:
            P = np.asarray(spec["P"], dtype=np.float64)
            if P.shape != (3, 4):
                raise ValueError(f"camera {name!r}: P must be 3x4, got shape {P.shape}")
            cam = Camera.from_projection(P, w, h, name)
        elif "position" in spec and "look_at" in spec and "focal" in spec:
            cam = look_at_camera(name, spec["position"], spec["look_at"], float(spec["focal"]), w, h, spec.get("up", (0, 0, 1)))
        else:
            raise ValueError(
                f"camera {name!r}: give K, R and t, or P, or position, look_at and focal "
                f"(got keys {sorted(spec)}); valid kinds: {', '.join(CAMERA_SPEC_KINDS)}"
            )
    else:
        raise ValueError(f"camera spec #{i} must be a Camera or a mapping, got {type(spec).__name__}")
    check_camera(cam)
    return cam


def check_camera(cam: Camera) -> None:
    """Reject a camera whose matrices do not fit its resolution (principal point off the
    sensor) or that is not a proper pinhole (non-positive focal lengths)."""
    fx, fy = cam.focal
    cx, cy = float(cam.K[0, 2]), float(cam.K[1, 2])
    if fx <= 0 or fy <= 0:
        raise ValueError(f"camera {cam.name!r}: focal lengths must be positive, got ({fx:.1f}, {fy:.1f})")
    if not (0 <= cx <= cam.width and 0 <= cy <= cam.height):
        raise ValueError(
            f"camera {cam.name!r}: principal point ({cx:.1f}, {cy:.1f}) lies outside its "
            f"{cam.width}x{cam.height} sensor: resolution does not match the matrices"
        )


def resolve_cameras(cameras="dhp19", sensor_size: Iterable[int] | None = None) -> dict[str, Camera]:
    """The scene's cameras from a camera option.

    Args:
        cameras: ``"dhp19"`` (default: DHP19's four calibrated cameras), or a list of
            camera specs (see the module docstring), or a mapping name -> spec.
        sensor_size: optional (height, width) that every camera must have; DHP19's
            matrices are calibrated for 260 x 346, so any other size is an error there.

    Raises:
        ValueError: no camera, an unknown option, a bad spec, duplicate names, or a
            resolution that does not match the matrices.
    """
    if cameras is None or (isinstance(cameras, str) and cameras == "dhp19"):
        cams = dhp19_cameras()
        if sensor_size is not None and tuple(int(v) for v in sensor_size) != DHP19_SENSOR_SIZE:
            raise ValueError(
                f"sensor_size {tuple(sensor_size)} does not match the DHP19 camera matrices, which "
                f"are calibrated for (height, width) = {DHP19_SENSOR_SIZE}; use that size or "
                f"give generic cameras"
            )
        return cams
    if isinstance(cameras, str):
        raise ValueError(f"unknown camera option {cameras!r}; valid: 'dhp19' or a list of camera specs")
    if isinstance(cameras, Mapping):
        cameras = [{**dict(v), "name": k} if isinstance(v, Mapping) else v for k, v in cameras.items()]
    specs = list(cameras)
    if not specs:
        raise ValueError("no cameras given: use 'dhp19' or a non-empty list of camera specs")
    out: dict[str, Camera] = {}
    for i, spec in enumerate(specs):
        cam = _camera_from_spec(spec, i)
        if cam.name in out:
            raise ValueError(f"duplicate camera name {cam.name!r}")
        if sensor_size is not None and tuple(int(v) for v in sensor_size) != cam.sensor_size:
            what = "the DHP19 matrices are calibrated for" if isinstance(spec, str) else "the camera is"
            raise ValueError(
                f"camera {cam.name!r}: sensor_size {tuple(sensor_size)} does not match its matrices "
                f"({what} (height, width) = {cam.sensor_size})"
            )
        out[cam.name] = cam
    return out


def _view_margin(cams: Mapping[str, Camera], pts: np.ndarray) -> np.ndarray:
    """Smallest distance (px) inside the image of any point, per candidate, over cameras.

    Shapes: pts (C, P, 3) -> (C,); negative when a point leaves an image or is behind.
    """
    worst = np.full(pts.shape[0], np.inf)
    for cam in cams.values():
        xy = cam.project(pts)
        z = cam.depth(pts)
        m = np.minimum.reduce([xy[..., 0], cam.width - 1 - xy[..., 0], xy[..., 1], cam.height - 1 - xy[..., 1]])
        m = np.where(z > 100, m, -1e9)
        worst = np.minimum(worst, m.min(axis=1))
    return worst


def standing_point(
    cameras: Mapping[str, Camera],
    body_height: float = 1800.0,
    body_radius: float = 350.0,
    search_radius: float = 3000.0,
    step: float = 100.0,
) -> np.ndarray:
    """A floor point (x, y) from where a standing body is best seen by every camera.

    The body is a vertical cylinder (``body_radius``, floor to ``body_height``); the
    point maximises its smallest margin to any image border over all cameras. Among
    points within 2 px of the best margin, the one nearest the cameras' common focus
    (least-squares intersection of the optical axes, projected to the floor) wins, so
    the DHP19 rig gives its calibration origin's neighbourhood.

    Args:
        cameras: the cameras.
        body_height: cylinder height, mm (default 1800).
        body_radius: cylinder radius, mm (default 350).
        search_radius: half size of the searched square around the focus, mm (default 3000).
        step: grid step, mm (default 100).
    """
    focus = axes_focus(cameras)[:2]
    g = np.arange(-search_radius, search_radius + step / 2, step)
    gx, gy = np.meshgrid(focus[0] + g, focus[1] + g, indexing="ij")
    cand = np.stack([gx.ravel(), gy.ravel()], axis=1)
    offs = _body_points(body_height, body_radius)
    pts = np.concatenate([cand, np.zeros((len(cand), 1))], axis=1)[:, None, :] + offs[None]
    margin = _view_margin(cameras, pts)
    good = margin >= margin.max() - 2.0
    d = np.linalg.norm(cand - focus, axis=1)
    d[~good] = np.inf
    return cand[int(np.argmin(d))]


def _body_points(body_height: float, body_radius: float) -> np.ndarray:
    """Points of a vertical cylinder standing at the origin (rings at 7 heights)."""
    ang = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    ring = np.stack([np.cos(ang), np.sin(ang)], axis=1) * body_radius
    return np.array([[rx, ry, z] for z in np.linspace(0, body_height, 7) for rx, ry in ring])


def pair_positions(
    cameras: Mapping[str, Camera],
    gap: float,
    centre,
    body_height: float = 1800.0,
    body_radius: float = 300.0,
    shift: float = 400.0,
    step: float = 100.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Floor points of two people ``gap`` mm apart, best seen together by every camera.

    Searches the direction of the pair (every 15 degrees) and its midpoint (within
    ``shift`` of ``centre``) for the largest smallest margin of both bodies (vertical
    cylinders) to any image border; with DHP19's rig this avoids standing the two in
    line with a side camera, where the nearer one fills and leaves its image.

    Args:
        cameras: the cameras.
        gap: distance between the two standing points, mm.
        centre: (x, y) around which the pair stands, mm.
        body_height, body_radius: the body cylinder (defaults 1800, 300 mm).
        shift: largest move of the midpoint from ``centre``, mm (default 400).
        step: grid step of the midpoint search, mm (default 100).

    Returns:
        (p0, p1), each (2,) mm.
    """
    c = np.asarray(centre, dtype=np.float64)[:2]
    g = np.arange(-shift, shift + step / 2, step)
    mids = np.stack(np.meshgrid(c[0] + g, c[1] + g, indexing="ij"), axis=-1).reshape(-1, 2)
    ang = np.radians(np.arange(0, 180, 15))
    dirs = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    p0 = (mids[:, None, :] - 0.5 * gap * dirs[None]).reshape(-1, 2)
    p1 = (mids[:, None, :] + 0.5 * gap * dirs[None]).reshape(-1, 2)
    offs = _body_points(body_height, body_radius)
    m = np.minimum(
        _view_margin(cameras, np.c_[p0, np.zeros(len(p0))][:, None, :] + offs[None]),
        _view_margin(cameras, np.c_[p1, np.zeros(len(p1))][:, None, :] + offs[None]),
    )
    # best margin; among near-ties the midpoint nearest the centre
    good = m >= m.max() - 2.0
    d = np.linalg.norm(0.5 * (p0 + p1) - c, axis=1)
    d[~good] = np.inf
    i = int(np.argmin(d))
    return p0[i], p1[i]


def axes_focus(cameras: Mapping[str, Camera]) -> np.ndarray:
    """Least-squares intersection point of the cameras' optical axes (world mm). With a
    single camera, the point of its axis 3 m away."""
    cams = list(cameras.values())
    if len(cams) == 1:
        c = cams[0]
        return c.center + 3000.0 * c.R[2]
    A = np.zeros((3, 3))
    b = np.zeros(3)
    for c in cams:
        d = c.R[2]
        Pm = np.eye(3) - np.outer(d, d)
        A += Pm
        b += Pm @ c.center
    return np.linalg.lstsq(A, b, rcond=None)[0]


def facing_yaw(cameras: Mapping[str, Camera], point) -> float:
    """Yaw (radians) that faces the mean direction of the cameras seen from ``point``
    (DHP19: towards cameras 2 and 3, the usual front views)."""
    p = np.asarray(point, dtype=np.float64)[:2]
    dirs = np.array([c.center[:2] - p for c in cameras.values()])
    dirs /= np.maximum(np.linalg.norm(dirs, axis=1, keepdims=True), 1e-9)
    m = dirs.mean(axis=0)
    if np.linalg.norm(m) < 1e-6:
        return 0.0
    return float(np.arctan2(m[1], m[0]))
