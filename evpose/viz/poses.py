"""Poses: 2D skeletons over event frames, 3D poses from several views, per-joint errors."""

from __future__ import annotations

import numpy as np

from ..types import JOINT_NAMES, SKELETON_EDGES
from ._style import PRED_COLOUR, TRUTH_COLOUR, check_sensor_size, fig_ax, image_axes, new_figure, to_numpy
from .events import event_frame_rgb

#: Default 3D viewpoints (elevation, azimuth in degrees): two obliques and one from above.
VIEWS = ((15.0, -60.0), (15.0, 30.0), (89.0, -90.0))


def _joints(a, dim: int, name: str) -> np.ndarray:
    j = to_numpy(a).astype(np.float64)
    if j.ndim != 2 or j.shape[1] != dim:
        raise ValueError(f"{name} must be (K, {dim}), got shape {j.shape}")
    return j


def draw_skeleton_2d(ax, joints2d, visible=None, color="k", label: str | None = None, linestyle="-", marker="o",
                     edges=SKELETON_EDGES):
    """Draw a skeleton on an image axis (pixels, y down); returns the axis's figure. Joints
    that are not visible or not finite (and the bones touching them) are left out.

    Args:
        ax: the axis.
        joints2d: joint pixels.
        visible: which joints to draw (default: all finite ones).
        color, label, linestyle, marker: style of bones and joints.
        edges: bones as joint index pairs (default DHP19's skeleton).

    Shapes:
        joints2d: (K, 2), visible: (K,) bool
    """
    j = _joints(joints2d, 2, "joints2d")
    vis = np.ones(len(j), bool) if visible is None else to_numpy(visible).astype(bool).reshape(-1)
    if len(vis) != len(j):
        raise ValueError(f"visible has {len(vis)} entries for {len(j)} joints")
    vis = vis & np.isfinite(j).all(axis=1)
    for a, b in edges:
        if vis[a] and vis[b]:
            ax.plot([j[a, 0], j[b, 0]], [j[a, 1], j[b, 1]], color=color, linestyle=linestyle, linewidth=1.6)
    ax.scatter(j[vis, 0], j[vis, 1], color=color, s=14, marker=marker, label=label, zorder=3)
    return ax.figure


def plot_skeleton_on_events(events, sensor_size, joints2d=None, truth2d=None, visible=None, color_by: str = "polarity",
                            ax=None, title: str | None = None):
    """An event frame with the predicted skeleton (green) and, if given, the true one
    (black, dashed). Returns the figure.

    Args:
        events: structured events of the window.
        sensor_size: (H, W).
        joints2d: predicted joints (pixels), or None.
        truth2d: true joints (pixels), or None.
        visible: which true joints to draw (default: all finite).
        color_by: event colours, ``"polarity"`` (default) or ``"part"``.
        ax: draw into this axis (default: a new figure).
        title: axis title (default: the number of events).

    Shapes:
        joints2d, truth2d: (K, 2) pixels; visible: (K,)
    """
    fig, ax = fig_ax(ax)
    check_sensor_size(sensor_size)
    ax.imshow(event_frame_rgb(events, sensor_size, color_by), interpolation="nearest")
    if truth2d is not None:
        draw_skeleton_2d(ax, truth2d, visible, color=TRUTH_COLOUR, label="truth", linestyle="--", marker="s")
    if joints2d is not None:
        draw_skeleton_2d(ax, joints2d, None, color=PRED_COLOUR, label="prediction")
    image_axes(ax, sensor_size)
    if truth2d is not None or joints2d is not None:
        ax.legend(fontsize=7, loc="upper right")
    ax.set_title(title if title is not None else f"{len(events)} events", fontsize=9)
    return fig


def plot_pose_3d(joints3d=None, truth3d=None, views=VIEWS, title: str | None = None, valid=None):
    """A 3D pose (world mm, Z up) from several viewpoints, orthographic, equal axes:
    prediction green, truth black dashed. Returns the figure.

    Args:
        joints3d: predicted joints, or None.
        truth3d: true joints, or None (at least one of the two).
        views: (elevation, azimuth) pairs in degrees, one panel each (default: two
            obliques and the view from above).
        title: figure title.
        valid: which true joints are known (default: the finite ones).

    Shapes:
        joints3d, truth3d: (K, 3); valid: (K,)
    """
    poses = []
    if joints3d is not None:
        poses.append((_joints(joints3d, 3, "joints3d"), PRED_COLOUR, "-", "prediction"))
    if truth3d is not None:
        t = _joints(truth3d, 3, "truth3d")
        if valid is not None:
            t = np.where(to_numpy(valid).astype(bool).reshape(-1, 1), t, np.nan)
        poses.append((t, TRUTH_COLOUR, "--", "truth"))
    if not poses:
        raise ValueError("plot_pose_3d needs joints3d or truth3d")
    views = list(views)
    fig, axes = new_figure(1, len(views), size=(3.4, 3.6), projection="3d")
    allj = np.concatenate([p for p, *_ in poses])
    allj = allj[np.isfinite(allj).all(1)]
    centre = 0.5 * (allj.min(0) + allj.max(0)) if len(allj) else np.zeros(3)
    half = 0.55 * max(float(np.ptp(allj, axis=0).max()) if len(allj) else 2000.0, 200.0)
    for ax, (elev, azim) in zip(axes[0], views):
        for j, col, ls, lab in poses:
            for a, b in SKELETON_EDGES:
                if np.isfinite(j[[a, b]]).all():
                    ax.plot(*j[[a, b]].T, color=col, linestyle=ls, linewidth=1.5)
            ok = np.isfinite(j).all(1)
            ax.scatter(*j[ok].T, color=col, s=8, label=lab, depthshade=False)
        ax.set_proj_type("ortho")
        ax.set_xlim(centre[0] - half, centre[0] + half)
        ax.set_ylim(centre[1] - half, centre[1] + half)
        ax.set_zlim(centre[2] - half, centre[2] + half)
        ax.set_box_aspect((1, 1, 1))
        ax.view_init(elev=elev, azim=azim)
        ax.set_title(f"elev {elev:g}, azim {azim:g}", fontsize=8)
        for axis, name in ((ax.xaxis, "X"), (ax.yaxis, "Y"), (ax.zaxis, "Z")):
            axis.set_label_text(f"{name} (mm)", fontsize=7)
            axis.set_major_locator(_locator())
        ax.tick_params(labelsize=6, pad=0)
        if abs(elev) >= 75:  # seen from above: the vertical axis is edge-on
            ax.set_zticks([])
            ax.zaxis.set_label_text("")
    axes[0, 0].legend(fontsize=7, loc="upper left")
    if title:
        fig.suptitle(title)
    return fig


def _locator():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(4)


def plot_per_joint_errors(errors: dict, unit: str = "px", title: str | None = None, joint_names=JOINT_NAMES):
    """Grouped bars of per-joint errors, one colour per method; the legend gives each
    method's mean over the joints (NaN joints left out). Returns the figure.

    Args:
        errors: ``{method name: (K,) errors}``.
        unit: error unit for the axis label (default px).
        title: axis title.
        joint_names: K names (default DHP19's 13 joints).
    """
    if not errors:
        raise ValueError("plot_per_joint_errors needs at least one method")
    K = len(joint_names)
    fig, axes = new_figure(size=(max(6.0, 0.55 * K + 1.5), 3.5))
    ax = axes[0, 0]
    width = 0.8 / len(errors)
    for i, (name, e) in enumerate(errors.items()):
        e = to_numpy(e).astype(np.float64).reshape(-1)
        if len(e) != K:
            raise ValueError(f"errors[{name!r}] has {len(e)} values for {K} joints")
        mean = np.nanmean(e) if np.isfinite(e).any() else np.nan
        ax.bar(np.arange(K) + i * width - 0.4 + width / 2, np.nan_to_num(e, nan=0.0), width=width,
               label=f"{name} (mean {mean:.3g} {unit})")
    ax.set_xticks(np.arange(K))
    ax.set_xticklabels(joint_names, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(f"error ({unit})")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title)
    return fig
