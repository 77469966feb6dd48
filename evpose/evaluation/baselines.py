"""Two honest baselines a pose model must beat.

- :class:`MeanPoseBaseline`: the mean 3D pose of the training windows (world frame),
  projected into each test window's camera for 2D.
- :class:`CentroidOffsetBaseline`: each joint at the event centroid of the window plus the
  joint's mean 2D offset from the centroid in the training windows; in 3D, the mean
  root-relative camera-frame pose of the training windows placed at the mean root depth
  along the ray of the predicted 2D root.
"""

from __future__ import annotations

import numpy as np

from ..geometry import Camera
from ..types import ROOT_JOINTS


def _nanmean(a: np.ndarray, axis=0) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.nanmean(a, axis=axis)


class MeanPoseBaseline:
    """Predict the mean training pose for every window.

    Args:
        joints3d: training window labels, NaN where unknown.

    Shapes:
        joints3d: (M, K, 3)
    """

    name = "mean training pose"

    def __init__(self, joints3d: np.ndarray):
        if len(joints3d) == 0:
            raise ValueError("MeanPoseBaseline needs at least one training pose")
        self.pose = _nanmean(np.asarray(joints3d, dtype=np.float64))

    def predict(self, events: np.ndarray, camera: Camera) -> dict:
        return {"joints2d": camera.project(self.pose), "joints3d": self.pose.copy()}


class CentroidOffsetBaseline:
    """Event centroid plus the mean training offsets (see the module docstring).

    Args:
        centroids: event centroid (px) of every training window.
        joints2d: 2D labels of those windows (NaN where invisible).
        joints3d_cam: camera-frame 3D labels of those windows (NaN where unknown).

    Shapes:
        centroids: (M, 2), joints2d: (M, K, 2), joints3d_cam: (M, K, 3)
    """

    name = "event centroid + mean offsets"

    def __init__(self, centroids: np.ndarray, joints2d: np.ndarray, joints3d_cam: np.ndarray):
        if len(centroids) == 0:
            raise ValueError("CentroidOffsetBaseline needs at least one training window")
        self.offsets = _nanmean(np.asarray(joints2d, np.float64) - np.asarray(centroids, np.float64)[:, None, :])
        j3 = np.asarray(joints3d_cam, np.float64)
        root = j3[:, list(ROOT_JOINTS)].mean(axis=1)
        self.rel3d = _nanmean(j3 - root[:, None, :])
        self.root_depth = float(_nanmean(root[:, 2]))

    @staticmethod
    def centroid(events: np.ndarray) -> np.ndarray:
        if len(events) == 0:
            return np.array([np.nan, np.nan])
        return np.array([events["x"].mean(), events["y"].mean()], dtype=np.float64)

    def predict(self, events: np.ndarray, camera: Camera) -> dict:
        j2 = self.centroid(events)[None, :] + self.offsets
        root2d = j2[list(ROOT_JOINTS)].mean(axis=0)
        K = camera.K
        ray = np.array([(root2d[0] - K[0, 2]) / K[0, 0], (root2d[1] - K[1, 2]) / K[1, 1], 1.0])
        root_cam = ray * self.root_depth
        j3c = root_cam[None, :] + self.rel3d
        return {"joints2d": j2, "joints3d": camera.camera_to_world(j3c)}
