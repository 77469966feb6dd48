"""Pinhole cameras in evpose's pixel convention.

Pixel convention everywhere in evpose: ``x`` is the column and ``y`` the row of the
sensor, 0-based, with ``y`` growing downwards (the way events are stored). World
coordinates are millimetres (DHP19's Vicon frame: Z up). A camera maps a world point
``X`` to the camera frame ``Xc = R @ X + t`` and to pixels ``(x, y) = (Xc @ K.T)[:2] / Zc``.

DHP19 publishes its matrices with the image rows flipped (``y = 260 - v / w``); use
:meth:`Camera.from_dhp19` for those, which folds the flip into ``K`` and ``R``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from .projection import decompose_projection


@dataclass(frozen=True, eq=False)
class Camera:
    """A calibrated pinhole camera with its sensor size.

    Args:
        K: (3, 3) intrinsics (focal lengths in pixels, principal point).
        R: (3, 3) rotation world -> camera.
        t: (3,) translation world -> camera, millimetres.
        width: sensor columns.
        height: sensor rows.
        name: camera name (the group name in an evpose file).
    """

    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    width: int
    height: int
    name: str = ""
    _P: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        K = np.asarray(self.K, dtype=np.float64).reshape(3, 3)
        R = np.asarray(self.R, dtype=np.float64).reshape(3, 3)
        t = np.asarray(self.t, dtype=np.float64).reshape(3)
        if not (np.all(np.isfinite(K)) and np.all(np.isfinite(R)) and np.all(np.isfinite(t))):
            raise ValueError(f"camera {self.name!r}: K, R and t must be finite")
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise ValueError(
                f"camera {self.name!r}: width and height must be positive, got {self.width}x{self.height}"
            )
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))
        object.__setattr__(self, "_P", K @ np.concatenate([R, t[:, None]], axis=1))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_projection(cls, P, width: int, height: int, name: str = "") -> "Camera":
        """A camera from a 3x4 projection matrix in evpose's pixel convention."""
        K, R, t = decompose_projection(np.asarray(P, dtype=np.float64))
        return cls(K=K, R=R, t=t, width=width, height=height, name=name)

    @classmethod
    def from_dhp19(cls, P_dhp19, width: int = 346, height: int = 260, name: str = "") -> "Camera":
        """A camera from one of DHP19's matrices, whose rows are flipped (``y = H - v / w``)."""
        flip = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, float(height)], [0.0, 0.0, 1.0]])
        return cls.from_projection(flip @ np.asarray(P_dhp19, dtype=np.float64), width, height, name)

    @classmethod
    def from_dict(cls, d: dict) -> "Camera":
        """Inverse of :meth:`to_dict`."""
        return cls(K=d["K"], R=d["R"], t=d["t"], width=d["width"], height=d["height"], name=d.get("name", ""))

    def to_dict(self) -> dict:
        """Plain values (lists and ints) for JSON, HDF5 attributes and checkpoints."""
        return {
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "K": self.K.tolist(),
            "R": self.R.tolist(),
            "t": self.t.tolist(),
        }

    # ------------------------------------------------------------------ properties
    @property
    def P(self) -> np.ndarray:
        """(3, 4) projection matrix world -> pixels, ``K @ [R | t]``."""
        return self._P.copy()

    @property
    def center(self) -> np.ndarray:
        """(3,) camera centre in world millimetres."""
        return -self.R.T @ self.t

    @property
    def sensor_size(self) -> tuple[int, int]:
        """(height, width)."""
        return (self.height, self.width)

    @property
    def focal(self) -> tuple[float, float]:
        """(alpha_x, alpha_y) focal lengths in pixels."""
        return float(self.K[0, 0]), float(self.K[1, 1])

    # ------------------------------------------------------------------ mappings
    def world_to_camera(self, X: np.ndarray) -> np.ndarray:
        """Shapes: X (..., 3) world mm -> (..., 3) camera frame mm."""
        return np.asarray(X, dtype=np.float64) @ self.R.T + self.t

    def camera_to_world(self, Xc: np.ndarray) -> np.ndarray:
        """Shapes: Xc (..., 3) camera frame mm -> (..., 3) world mm."""
        return (np.asarray(Xc, dtype=np.float64) - self.t) @ self.R

    def project(self, X: np.ndarray) -> np.ndarray:
        """World points to pixels. Shapes: X (..., 3) -> (..., 2)."""
        uvw = np.asarray(X, dtype=np.float64) @ self._P[:, :3].T + self._P[:, 3]
        return uvw[..., :2] / uvw[..., 2:3]

    def depth(self, X: np.ndarray) -> np.ndarray:
        """Depth (camera-frame Z, mm) of world points. Shapes: (..., 3) -> (...)."""
        return self.world_to_camera(X)[..., 2]

    def in_image(self, xy: np.ndarray) -> np.ndarray:
        """Whether pixel positions lie on the sensor, ``0 <= x <= W-1``, ``0 <= y <= H-1``.

        Shapes: xy (..., 2) -> (...) bool. Non-finite positions are outside.
        """
        xy = np.asarray(xy)
        x, y = xy[..., 0], xy[..., 1]
        with np.errstate(invalid="ignore"):
            return (x >= 0) & (x <= self.width - 1) & (y >= 0) & (y <= self.height - 1)

    def __repr__(self) -> str:
        fx, fy = self.focal
        c = self.center
        return (
            f"Camera(name={self.name!r}, {self.width}x{self.height}, f=({fx:.1f}, {fy:.1f}) px, "
            f"centre=({c[0]:.0f}, {c[1]:.0f}, {c[2]:.0f}) mm)"
        )


#: Names of DHP19's cameras in evpose; ``cam{i}`` uses DHP19's matrix ``P{i}``.
DHP19_CAMERA_NAMES: tuple[str, ...] = ("cam1", "cam2", "cam3", "cam4")


def dhp19_cameras() -> dict[str, Camera]:
    """The four real DHP19 cameras (346 x 260), calibration shipped inside the package.

    Returns:
        ``{"cam1": Camera, ..., "cam4": Camera}``; DHP19's usual evaluation views are
        ``cam2`` and ``cam3``.
    """
    root = resources.files("evpose.resources") / "dhp19"
    cams = {}
    for i, name in enumerate(DHP19_CAMERA_NAMES, start=1):
        with (root / f"P{i}.npy").open("rb") as f:
            P = np.load(f)
        cams[name] = Camera.from_dhp19(P, width=346, height=260, name=name)
    return cams


def dhp19_raw_projection(name: str) -> np.ndarray:
    """DHP19's published (row-flipped) 3x4 matrix for ``cam1`` .. ``cam4``."""
    if name not in DHP19_CAMERA_NAMES:
        raise ValueError(f"unknown DHP19 camera {name!r}; valid: {', '.join(DHP19_CAMERA_NAMES)}")
    with (resources.files("evpose.resources") / "dhp19" / f"P{name[-1]}.npy").open("rb") as f:
        return np.load(f)
