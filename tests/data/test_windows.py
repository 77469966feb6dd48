"""Windows cover the stream with the expected counts and boundaries; labels are hand-checked."""

from __future__ import annotations

import numpy as np
import pytest

from evpose.data import (
    EventWindowDataset,
    Window,
    constant_count_windows,
    constant_duration_windows,
    project_pose,
    window_label,
    window_pose,
)
from evpose.io import EventRecording, write_recording
from tests.helpers import random_events, standing_pose


@pytest.fixture
def rec(tmp_path, dhp19_cams):
    rng = np.random.default_rng(11)
    ev = random_events(rng, 40_123, t0=0, t1=800_000)
    t = np.arange(0, 1_000_000, 10_000, dtype=np.int64)
    base = standing_pose()
    # joints drift linearly in x: 1 mm per pose sample
    j = base[None] + np.arange(len(t))[:, None, None] * np.array([1.0, 0, 0])
    path = write_recording(tmp_path / "r.h5", {"cam2": (dhp19_cams["cam2"], ev)}, poses=(t, j))
    r = EventRecording(path)
    yield r, ev, t, j
    r.close()


def test_count_windows_cover_stream(rec):
    r, ev, *_ = rec
    ws = constant_count_windows(r, "cam2", 7500)
    assert len(ws) == 40_123 // 7500
    for k, w in enumerate(ws):
        assert (w.i0, w.i1) == (k * 7500, (k + 1) * 7500)
        assert w.t_start == ev["t"][w.i0] and w.t_end == ev["t"][w.i1 - 1] + 1
    kept = constant_count_windows(r, "cam2", 7500, drop_last=False)
    assert kept[-1].i1 == 40_123 and kept[-1].num_events == 40_123 - 5 * 7500
    overlap = constant_count_windows(r, "cam2", 7500, stride=2500)
    assert [w.i0 for w in overlap] == list(range(0, 40_123 - 7500 + 1, 2500))


def test_duration_windows_cover_stream(rec):
    r, ev, *_ = rec
    ws = constant_duration_windows(r, "cam2", 50_000)
    assert ws[0].t_start == ev["t"][0]
    assert sum(w.num_events for w in ws) == np.count_nonzero(ev["t"] < ws[-1].t_end)
    for a, b in zip(ws, ws[1:]):
        assert a.t_end == b.t_start and a.i1 == b.i0
    for w in ws:
        inside = (ev["t"] >= w.t_start) & (ev["t"] < w.t_end)
        assert w.num_events == inside.sum() and w.i0 == np.argmax(inside)


def test_bad_window_arguments(rec):
    r, *_ = rec
    with pytest.raises(ValueError, match="num_events must be positive, got 0"):
        constant_count_windows(r, "cam2", 0)
    with pytest.raises(ValueError, match="duration_us must be positive, got -5"):
        constant_duration_windows(r, "cam2", -5)


def test_mean_label_equals_hand_computed_mean(rec):
    r, ev, t, j = rec
    w = Window("cam2", 0, 10, 25_000, 61_000)  # pose samples at 30, 40, 50, 60 ms -> indices 3..6
    got, ok = window_pose(r, w, "mean")
    np.testing.assert_allclose(got, j[3:7].mean(axis=0), rtol=1e-6)
    assert ok.all()
    # x drifts 1 mm per sample: the mean of samples 3..6 is 4.5 mm to the right of the base
    np.testing.assert_allclose(got[:, 0] - standing_pose()[:, 0], 4.5, atol=1e-4)
    end, _ = window_pose(r, w, "end")
    np.testing.assert_allclose(end[:, 0] - standing_pose()[:, 0], 6.1, atol=1e-4)
    short = Window("cam2", 0, 10, 31_000, 35_000)  # no sample inside: interpolated at 33 ms
    got, _ = window_pose(r, short, "mean")
    np.testing.assert_allclose(got[:, 0] - standing_pose()[:, 0], 3.3, atol=1e-4)
    with pytest.raises(ValueError, match="unknown label rule 'median'; valid: mean, end"):
        window_pose(r, w, "median")


def test_joints_outside_image_masked_not_clipped(dhp19_cams):
    cam = dhp19_cams["cam2"]
    pose = standing_pose()
    pose[7] = [4000.0, 4000.0, 900.0]  # a hand far to the side
    lab = project_pose(pose, np.ones(13, bool), cam)
    assert not lab.visible[7] and lab.visible[[0, 1, 2, 5, 6, 11, 12]].all()
    np.testing.assert_allclose(lab.joints2d[7], cam.project(pose[7]))  # kept as projected
    assert not cam.in_image(lab.joints2d[7])


def test_dataset_samples(rec, tmp_path):
    r, ev, *_ = rec
    ds = EventWindowDataset([r.path], window="count", num_events=5000)
    assert len(ds) == 40_123 // 5000
    s = ds[2]
    np.testing.assert_array_equal(s["events"], ev[10_000:15_000])
    want = window_label(r, ds.windows[2][1])
    np.testing.assert_allclose(s["joints2d"], want.joints2d)
    assert s["camera"].name == "cam2" and s["joints3d"].shape == (13, 3)
    ds2 = EventWindowDataset([r.path], window="duration", duration_us=20_000, min_events=10_000)
    assert len(ds2) == 0 and ds2.skipped == len(constant_duration_windows(r, "cam2", 20_000))
    with pytest.raises(ValueError, match="unknown window kind 'time'; valid: count, duration"):
        EventWindowDataset([r.path], window="time")


def test_dataset_history(rec):
    r, ev, *_ = rec
    ds = EventWindowDataset([r.path], num_events=5000, history_us=20_000, labels=False)
    s = ds[3]
    w = ds.windows[3][1]
    want = ev[(ev["t"] >= w.t_start - 20_000) & (np.arange(len(ev)) < w.i0)]
    np.testing.assert_array_equal(s["history"], want)
    assert "joints2d" not in s
