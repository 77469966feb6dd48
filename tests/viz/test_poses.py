"""Skeleton overlays, 3D poses and per-joint error bars."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from evpose.types import JOINT_NAMES, NUM_JOINTS, SKELETON_EDGES
from evpose.viz import draw_skeleton_2d, plot_per_joint_errors, plot_pose_3d, plot_skeleton_on_events
from tests.helpers import random_events, standing_pose


def test_skeleton_leaves_out_invisible_and_unknown_joints():
    j = np.stack([np.arange(NUM_JOINTS) * 10.0, np.arange(NUM_JOINTS) * 5.0], 1)
    visible = np.ones(NUM_JOINTS, bool)
    visible[3] = False  # elbowR hidden
    j[8] = np.nan  # handL unknown
    ax = Figure().subplots()
    draw_skeleton_2d(ax, j, visible)
    drawn = {(tuple(np.round(l.get_xdata(), 6)), tuple(np.round(l.get_ydata(), 6))) for l in ax.lines}
    expected = {((j[a, 0], j[b, 0]), (j[a, 1], j[b, 1])) for a, b in SKELETON_EDGES if a not in (3, 8) and b not in (3, 8)}
    assert drawn == expected and len(ax.lines) == len(expected)
    assert len(ax.collections[0].get_offsets()) == NUM_JOINTS - 2


def test_skeleton_checks_shapes():
    ax = Figure().subplots()
    with pytest.raises(ValueError, match="joints2d must be"):
        draw_skeleton_2d(ax, np.zeros((13, 3)))
    with pytest.raises(ValueError, match="visible has 12 entries"):
        draw_skeleton_2d(ax, np.zeros((13, 2)), np.ones(12, bool))


def test_skeleton_on_events(rng):
    ev = random_events(rng, 200)
    truth = np.full((NUM_JOINTS, 2), 100.0) + np.arange(NUM_JOINTS)[:, None]
    fig = plot_skeleton_on_events(ev, (260, 346), joints2d=truth + 2, truth2d=truth)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["truth", "prediction"]
    assert len(ax.lines) == 2 * len(SKELETON_EDGES)
    assert ax.get_xlim() == (-0.5, 345.5) and ax.get_ylim() == (259.5, -0.5)
    np.testing.assert_allclose(ax.collections[0].get_offsets(), truth)


def test_pose_3d_panels_per_view_with_equal_axes():
    truth = standing_pose()
    fig = plot_pose_3d(truth + 20, truth, views=((10, 20), (20, 30)), title="pose")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    for ax, (elev, azim) in zip(fig.axes, ((10, 20), (20, 30))):
        assert ax.name == "3d" and (ax.elev, ax.azim) == (elev, azim)
        spans = [np.diff(lim)[0] for lim in (ax.get_xlim(), ax.get_ylim(), ax.get_zlim())]
        np.testing.assert_allclose(spans, spans[0])  # a cube: no axis stretched
        assert len(ax.lines) == 2 * len(SKELETON_EDGES)
        lo, hi = ax.get_zlim()
        assert lo <= truth[:, 2].min() and hi >= truth[:, 2].max() + 20
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["prediction", "truth"]


def test_pose_3d_truth_only_and_invalid_joints():
    truth = standing_pose()
    valid = np.ones(NUM_JOINTS, bool)
    valid[0] = False  # head unknown: its bones go
    fig = plot_pose_3d(truth3d=truth, valid=valid)
    assert len(fig.axes) == 3
    n_edges = sum(1 for a, b in SKELETON_EDGES if 0 not in (a, b))
    assert len(fig.axes[0].lines) == n_edges
    with pytest.raises(ValueError, match="needs joints3d or truth3d"):
        plot_pose_3d()


def test_per_joint_error_bars():
    e1 = np.arange(NUM_JOINTS, dtype=float)
    e2 = e1 * 2
    e2[4] = np.nan
    fig = plot_per_joint_errors({"a": e1, "b": e2}, unit="mm")
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights[:NUM_JOINTS], e1)
    np.testing.assert_allclose(heights[NUM_JOINTS:], np.nan_to_num(e2))
    assert [t.get_text() for t in ax.get_xticklabels()] == list(JOINT_NAMES)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [f"a (mean {e1.mean():.3g} mm)", f"b (mean {np.nanmean(e2):.3g} mm)"]
    with pytest.raises(ValueError, match="has 3 values for 13 joints"):
        plot_per_joint_errors({"a": [1, 2, 3]})
