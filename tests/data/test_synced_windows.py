"""Synchronised windows and DHP19's label rule, checked on a hand-computed recording.

Two counted cameras, 2 events per camera and window (4 merged events per window):

    cam2 t: 5000 12000 20000 24000 44000 52000
    cam3 t: 7000 20000 22000 25000 40000 61000 70000
    merged (ties: cam2 first), ranks 0..12:
      W0: 5000c2 7000c3 12000c2 20000c2 | W1: 20000c3 22000c3 24000c2 25000c3 |
      W2: 40000c3 44000c2 52000c2 61000c3 | 70000c3 (incomplete, dropped)
    W0: cam2 [0,3) cam3 [0,1), span [5000, 20001), end sample round(2.0)  = 2 -> samples 0..2
    W1: cam2 [3,4) cam3 [1,4), span [20000, 25001), end sample round(2.5) = 3 (halves up) -> 2..3
    W2: cam2 [4,6) cam3 [4,6), span [40000, 61001), end sample round(6.1) = 6 -> 3..6
    cam4 (not counted) t: 21000 30000 50000 -> by time: [0,0), [0,1), [2,3)

Poses at 0, 10, ..., 60 ms; joint j of sample s is base_j + (s, 0, 0); joint 0 of sample 2
is lost (NaN, not valid).
"""

from __future__ import annotations

import numpy as np
import pytest

from evpose.data import (
    EventWindowDataset,
    counts_before_ranks,
    dhp19_sample_ranges,
    nearest_pose_sample,
    synced_count_windows,
    window_pose,
)
from evpose.io import EventRecording, write_recording
from tests.helpers import make_events, standing_pose

CAM2 = [5000, 12000, 20000, 24000, 44000, 52000]
CAM3 = [7000, 20000, 22000, 25000, 40000, 61000, 70000]
CAM4 = [21000, 30000, 50000]


def _events(t):
    n = len(t)
    return make_events(np.array(t), np.arange(n) % 300, np.arange(n) % 200, np.arange(n) % 2)


def _write(path, cams, num_poses=7, poses=True):
    streams = {"cam2": CAM2, "cam3": CAM3, "cam4": CAM4}
    pose = None
    if poses:
        t = np.arange(num_poses, dtype=np.int64) * 10_000
        j = standing_pose()[None] + np.arange(num_poses)[:, None, None] * np.array([1.0, 0, 0])
        valid = np.ones(j.shape[:2], dtype=bool)
        j[2, 0], valid[2, 0] = np.nan, False
        pose = (t, j.astype(np.float32), valid)
    return write_recording(path, {c: (cams[c], _events(streams[c])) for c in ("cam2", "cam3", "cam4")}, poses=pose)


@pytest.fixture
def rec(tmp_path, dhp19_cams):
    with EventRecording(_write(tmp_path / "r.h5", dhp19_cams)) as r:
        yield r


def test_synced_windows_hand_computed(rec):
    groups = synced_count_windows(rec, ["cam2", "cam3", "cam4"], num_events=2, count_cameras=["cam2", "cam3"])
    assert len(groups) == 3
    got = [[(w.camera, w.i0, w.i1, w.t_start, w.t_end, w.group) for w in g] for g in groups]
    assert got == [
        [("cam2", 0, 3, 5000, 20001, 0), ("cam3", 0, 1, 5000, 20001, 0), ("cam4", 0, 0, 5000, 20001, 0)],
        [("cam2", 3, 4, 20000, 25001, 1), ("cam3", 1, 4, 20000, 25001, 1), ("cam4", 0, 1, 20000, 25001, 1)],
        [("cam2", 4, 6, 40000, 61001, 2), ("cam3", 4, 6, 40000, 61001, 2), ("cam4", 2, 3, 40000, 61001, 2)],
    ]
    kept = synced_count_windows(rec, ["cam3"], num_events=2, count_cameras=["cam2", "cam3"], drop_last=False)
    assert [(w.i0, w.i1) for (w,) in kept] == [(0, 1), (1, 4), (4, 6), (6, 7)]
    # default: every camera of the recording is counted (13 + 3 events, windows of 6)
    assert len(synced_count_windows(rec, ["cam2"], num_events=2)) == 16 // 6


def test_counts_before_ranks_match_a_stable_merge(rng):
    times = [np.sort(rng.integers(0, 50, n)) for n in (40, 0, 25, 33)]  # many ties, one empty camera
    cam = np.concatenate([np.full(len(t), c) for c, t in enumerate(times)])
    order = np.argsort(np.concatenate(times), kind="stable")
    ranks = np.arange(0, cam.size + 1)
    expected = np.stack([[np.count_nonzero(cam[order[:r]] == c) for r in ranks] for c in range(len(times))])
    np.testing.assert_array_equal(counts_before_ranks(times, ranks), expected)


def test_end_sample_rounds_halves_up_as_matlab_uint32():
    pose_t = np.arange(5, dtype=np.int64) * 10_000
    t = np.array([0, 4999, 5000, 14999, 15000, 25000, 35000, 44999, 45000, 99_000])
    np.testing.assert_array_equal(nearest_pose_sample(t, pose_t), [0, 0, 1, 1, 2, 3, 4, 4, 5, 10])
    # MATLAB: uint32(d) * 0.0001 rounds to nearest, halves away from zero
    d = np.arange(0, 3_000_000, 7, dtype=np.int64)
    x = d * 0.0001
    matlab = np.floor(x) + ((x - np.floor(x)) >= 0.5)
    np.testing.assert_array_equal(nearest_pose_sample(d, pose_t), matlab)
    with pytest.raises(ValueError, match="evenly spaced"):
        nearest_pose_sample(t, np.array([0, 10_000, 25_000]))


def test_dhp19_ranges_share_the_end_sample_and_stop():
    first, last = dhp19_sample_ranges(np.array([20000, 25000, 61000]), np.arange(7) * 10_000)
    assert first.tolist() == [0, 2, 3] and last.tolist() == [2, 3, 6]
    first, last = dhp19_sample_ranges(np.array([20000, 25000, 61000, 30000]), np.arange(6) * 10_000)
    assert first.tolist() == [0, 2] and last.tolist() == [2, 3]  # stops at the first k past sample 5


def test_dataset_synced_dhp19_labels(rec):
    base = standing_pose()
    ds = EventWindowDataset([rec.path], cameras=["cam2", "cam3"], window="count_synced", num_events=2,
                            count_cameras=["cam2", "cam3"], label_rule="dhp19")
    assert len(ds) == 6
    ws = [w for _, w in ds.windows]
    assert [(w.camera, w.group, w.pose0, w.pose1) for w in ws] == [
        ("cam2", 0, 0, 2), ("cam3", 0, 0, 2), ("cam2", 1, 2, 3), ("cam3", 1, 2, 3), ("cam2", 2, 3, 6), ("cam3", 2, 3, 6)]
    for a, b in zip(ws[::2], ws[1::2]):
        assert (a.t_start, a.t_end) == (b.t_start, b.t_end)
    # hand means: W0 samples 0..2 (joint 0 lost at 2: samples 0, 1), W1 2..3 (joint 0: 3 only), W2 3..6
    expected_dx = [(0.5, 1.0), (3.0, 2.5), (4.5, 4.5)]
    for g, (dx0, dx) in enumerate(expected_dx):
        s = ds.raw_sample(2 * g + 1)
        assert s["window"].camera == "cam3" and s["valid3d"].all()
        np.testing.assert_allclose(s["joints3d"][0], base[0] + [dx0, 0, 0])
        np.testing.assert_allclose(s["joints3d"][1:], base[1:] + [dx, 0, 0])
        np.testing.assert_array_equal(s["events"]["t"], np.array(CAM3)[ws[2 * g + 1].i0 : ws[2 * g + 1].i1])
    assert ds.counts().tolist() == [3, 1, 1, 3, 2, 2]


def test_dataset_stop_rule_and_unlabelled(tmp_path, dhp19_cams):
    short = _write(tmp_path / "short.h5", dhp19_cams, num_poses=6)
    ds = EventWindowDataset([short], cameras=["cam2", "cam3"], window="count_synced", num_events=2,
                            count_cameras=["cam2", "cam3"], label_rule="dhp19")
    assert sorted({w.group for _, w in ds.windows}) == [0, 1]  # W2 ends at sample 6 > 5: generation stopped
    bare = _write(tmp_path / "bare.h5", dhp19_cams, poses=False)
    ds = EventWindowDataset([bare], cameras=["cam2", "cam3"], window="count_synced", num_events=2,
                            count_cameras=["cam2", "cam3"], label_rule="dhp19", labels=False)
    assert len(ds) == 6 and "joints3d" not in ds.raw_sample(0)
    # per-camera count windows take DHP19's rule too, each camera on its own stream
    ds = EventWindowDataset([short], cameras=["cam3"], window="count", num_events=2, label_rule="dhp19")
    # cam3 alone: [7000, 20000] ends at sample 2, [22000, 25000] at 3, [40000, 61000] at 6 > 5: stopped
    assert [(w.pose0, w.pose1) for _, w in ds.windows] == [(0, 2), (2, 3)]


def test_dhp19_rule_needs_assigned_samples(rec):
    from evpose.data import Window

    with pytest.raises(ValueError, match="no DHP19 label samples"):
        window_pose(rec, Window("cam2", 0, 3, 5000, 20001), "dhp19")


def test_graph_cache_names_synced_windows_uniquely(rec, tmp_path):
    from evpose.data.graph_cache import CachedGraphDataset, cache_key

    ds = EventWindowDataset([rec.path], cameras=["cam2", "cam3", "cam4"], window="count_synced", num_events=2,
                            count_cameras=["cam2", "cam3"], min_events=0, labels=False)
    cached = CachedGraphDataset(ds, lambda s: None, tmp_path / "cache")
    names = [cached.file_of(i).name for i in range(len(ds))]
    assert len(set(names)) == len(ds) == 9
    assert names[2].endswith("_cam4_0_0_g0.pt") and names[5].endswith("_cam4_0_1_g1.pt")
    per_camera = {"window": "count", "num_events": 7500, "label_rule": "mean"}
    synced = {**per_camera, "window": "count_synced", "label_rule": "dhp19"}
    assert cache_key(None, per_camera) != cache_key(None, synced) != cache_key(None, {**synced, "count_cameras": ["cam2"]})
