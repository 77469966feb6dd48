"""Pose labels of windows: 3D (world mm) and their 2D projection in a camera."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..geometry import Camera
from ..io import EventRecording
from .windows import Window

#: How a window's pose label is made from the pose samples.
LABEL_RULES = ("mean", "end", "dhp19")


class PoseLabel(NamedTuple):
    """Labels of one window.

    Shapes:
        joints3d: (K, 3) world mm (NaN where not valid)
        valid3d: (K,) bool, the 3D joint is known
        joints2d: (K, 2) pixels in the window's camera, as projected (never clipped)
        visible: (K,) bool, valid, in front of the camera and inside the image
        depth: (K,) camera-frame Z in mm
    """

    joints3d: np.ndarray
    valid3d: np.ndarray
    joints2d: np.ndarray
    visible: np.ndarray
    depth: np.ndarray


def window_pose(rec: EventRecording, window: Window, rule: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """The 3D pose label of a window.

    Args:
        rule: ``"mean"`` (DHP19's rule): per joint, the mean of the valid pose samples
            with ``t_start <= t < t_end``; a window holding no sample (shorter than the
            pose period) takes the pose interpolated at its middle.
            ``"end"``: the pose interpolated at ``t_end``.
            ``"dhp19"``: DHP19's own rule, per joint the NaN-mean of the pose samples
            ``window.pose0 .. window.pose1``, both included (the previous window's end
            sample to this one's; set by :func:`~evpose.data.dhp19_label_samples`, as
            :class:`~evpose.data.EventWindowDataset` does for this rule).

    Returns:
        ``(joints3d, valid)``; shapes (K, 3) float64 mm and (K,) bool.
    """
    if rule not in LABEL_RULES:
        raise ValueError(f"unknown label rule {rule!r}; valid: {', '.join(LABEL_RULES)}")
    if rule == "end":
        return rec.joints_at(window.t_end)
    if rule == "dhp19":
        if window.pose0 < 0 or window.pose1 < window.pose0:
            raise ValueError(f"{rec.path}: window {window} has no DHP19 label samples (pose0, pose1); make the "
                             "windows with label_rule='dhp19' (EventWindowDataset) or dhp19_label_samples()")
        _, joints, valid = rec.poses_by_index(window.pose0, window.pose1 + 1)
        return nan_mean_pose(joints, valid)
    _, joints, valid = rec.poses(window.t_start, window.t_end)
    if len(joints) == 0:
        return rec.joints_at(0.5 * (window.t_start + window.t_end))
    return nan_mean_pose(joints, valid)


def nan_mean_pose(joints: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per joint, the mean of its valid samples (NaN and not valid where it has none).

    Shapes:
        joints: (T, K, 3); valid: (T, K) -> ((K, 3) float64, (K,) bool)
    """
    w = valid.astype(np.float64)
    total = w.sum(axis=0)
    summed = np.where(valid[..., None], joints.astype(np.float64), 0.0).sum(axis=0)
    ok = total > 0
    mean = np.where(ok[:, None], summed / np.maximum(total, 1)[:, None], np.nan)
    return mean, ok


def project_pose(joints3d: np.ndarray, valid3d: np.ndarray, camera: Camera) -> PoseLabel:
    """Project a 3D pose into a camera with the DHP19 convention (evpose pixels).

    Joints behind the camera or outside the image are marked invisible; their
    projected positions are kept as they are (masked, not clipped).
    """
    j3 = np.where(valid3d[:, None], joints3d, 0.0)
    depth = camera.depth(j3)
    with np.errstate(divide="ignore", invalid="ignore"):
        xy = camera.project(j3)
    visible = valid3d & (depth > 0) & camera.in_image(xy)
    xy = np.where(valid3d[:, None], xy, np.nan)
    depth = np.where(valid3d, depth, np.nan)
    return PoseLabel(joints3d, valid3d, xy, visible, depth)


def window_label(rec: EventRecording, window: Window, rule: str = "mean") -> PoseLabel:
    """3D label of a window by ``rule`` and its projection in the window's camera."""
    j3, valid = window_pose(rec, window, rule)
    return project_pose(j3, valid, rec.camera(window.camera))
