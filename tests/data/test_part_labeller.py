"""The skeleton part labeller: hand-made geometry and agreement with the synthetic truth."""

from __future__ import annotations

import numpy as np
import pytest

from evpose.data import EventWindowDataset, SkeletonPartLabeller
from evpose.data.part_labeller import label_events_by_skeleton, point_segment_distance
from evpose.types import PART_INDEX, make_events


def test_point_segment_distance_hand_computed():
    a = np.array([[0.0, 0.0]])
    b = np.array([[10.0, 0.0]])
    p = np.array([[5.0, 3.0], [-4.0, 3.0], [13.0, -4.0], [7.0, 0.0]])
    np.testing.assert_allclose(point_segment_distance(p, a, b)[:, 0], [3.0, 5.0, 5.0, 0.0])
    # a degenerate segment is a point
    np.testing.assert_allclose(point_segment_distance(p[:1], a, a)[:, 0], [np.hypot(5, 3)])


def skeleton():
    """A 2D T-pose: torso from (100, 60) to (100, 140), arms horizontal, legs down."""
    j = np.zeros((13, 2))
    j[0] = [100, 30]  # head
    j[1], j[2] = [80, 60], [120, 60]  # shoulders R, L (neck at (100, 60))
    j[3], j[4] = [50, 60], [150, 60]  # elbows
    j[7], j[8] = [20, 60], [180, 60]  # hands
    j[5], j[6] = [90, 140], [110, 140]  # hips (root at (100, 140))
    j[9], j[10] = [90, 190], [110, 190]  # knees
    j[11], j[12] = [90, 240], [110, 240]  # feet
    return j


def test_labels_follow_the_nearest_part_within_its_radius():
    pts = {
        "head": (100, 35), "torso": (100, 100), "forearm_hand_r": (30, 62), "upper_arm_l": (135, 58),
        "thigh_l": (112, 165), "shin_foot_r": (88, 230),
    }
    xy = np.array(list(pts.values()) + [(300, 20)])
    got = label_events_by_skeleton(xy[:, 0], xy[:, 1], skeleton(), np.full(10, 0.3))
    assert got.tolist() == [PART_INDEX[k] for k in pts] + [-1]


def test_unknown_joints_skip_their_parts_and_bad_config():
    j = skeleton()
    j[7] = np.nan  # right hand lost: no forearm_hand_r segment
    got = label_events_by_skeleton(np.array([30]), np.array([62]), j, np.full(10, 0.3))
    assert got[0] != PART_INDEX["forearm_hand_r"]
    with pytest.raises(ValueError, match="unknown part name"):
        SkeletonPartLabeller({"tail": 0.2})
    with pytest.raises(ValueError, match="needs the window's 2D pose"):
        SkeletonPartLabeller()({"events": make_events([0], [1], [1], [1])})


def test_agreement_with_synthetic_truth(tiny_dataset):
    ds = EventWindowDataset.from_folder(tiny_dataset, "train", num_events=3000)
    lab = SkeletonPartLabeller(overwrite=True)
    agree = []
    for i in range(0, len(ds), max(1, len(ds) // 10)):
        s = ds[i]
        out = lab(s)["events"]
        assert out.dtype.names == ("t", "x", "y", "p", "part", "person")
        np.testing.assert_array_equal(out["t"], s["events"]["t"])
        body = s["events"]["part"] >= 0
        agree.append((out["part"][body] == s["events"]["part"][body]).mean())
    assert np.mean(agree) > 0.65
