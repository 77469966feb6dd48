"""Round trips through the evpose file format and windowed reads."""

from __future__ import annotations

import numpy as np
import pytest

from evpose.io import EventFileWriter, EventRecording, ms_index_for, write_recording
from evpose.types import JOINT_NAMES, event_dtype
from tests.helpers import random_events, standing_pose


def _write(tmp_path, rng, n=20_000, cams=("cam2", "cam3"), dhp19_cams=None, chunk=3001):
    events = {}
    for i, name in enumerate(cams):
        ev = random_events(rng, n + 1000 * i, t0=500, t1=2_345_678)
        events[name] = (dhp19_cams[name], ev)
    t = np.arange(0, 2_400_000, 10_000, dtype=np.int64)
    joints = standing_pose()[None] + rng.normal(0, 5, (len(t), 13, 3))
    path = write_recording(
        tmp_path / "rec.h5", events, poses=(t, joints), chunk=chunk, source="test", subject=3, movement="wave"
    )
    return path, events, t, joints.astype(np.float32)


def test_round_trip_every_field(tmp_path, rng, dhp19_cams):
    path, events, t, joints = _write(tmp_path, rng, dhp19_cams=dhp19_cams)
    with EventRecording(path) as rec:
        assert rec.camera_names == ["cam2", "cam3"]
        assert rec.attrs["subject"] == 3 and rec.attrs["movement"] == "wave" and rec.attrs["source"] == "test"
        assert rec.joint_names == JOINT_NAMES
        for name, (cam, ev) in events.items():
            assert rec.num_events(name) == len(ev)
            got = rec.events_slice(name, 0, len(ev))
            assert got.dtype == event_dtype(True, True)
            for f in ev.dtype.names:
                np.testing.assert_array_equal(got[f], ev[f])
            np.testing.assert_allclose(rec.camera(name).P, cam.P)
            assert (rec.camera(name).width, rec.camera(name).height) == (346, 260)
        pt, pj, pv = rec.poses()
        np.testing.assert_array_equal(pt, t)
        np.testing.assert_array_equal(pj, joints)
        assert pv.all()


def test_ms_index_written_in_chunks_equals_reference(tmp_path, rng, dhp19_cams):
    path, events, *_ = _write(tmp_path, rng, dhp19_cams=dhp19_cams, chunk=777)
    import h5py

    with h5py.File(path) as f:
        for name, (_, ev) in events.items():
            np.testing.assert_array_equal(f[f"cameras/{name}/events/ms_to_idx"][:], ms_index_for(ev["t"]))
    EventRecording(path).validate()


def test_time_windows_match_brute_force(tmp_path, rng, dhp19_cams):
    path, events, *_ = _write(tmp_path, rng, dhp19_cams=dhp19_cams)
    ev = events["cam2"][1]
    with EventRecording(path) as rec:
        queries = [(0, 10), (500, 501), (999, 1000), (1000, 1001), (123_456, 173_456), (2_000_000, 9_000_000),
                   (2_345_677, 2_345_678), (-50, 2000), (5000, 5000)]
        queries += [tuple(sorted(rng.integers(0, 2_500_000, 2))) for _ in range(50)]
        for a, b in queries:
            got = rec.events("cam2", a, b)
            want = ev[(ev["t"] >= a) & (ev["t"] < b)]
            np.testing.assert_array_equal(got, want)


def test_joints_at_interpolates_linearly(tmp_path, rng, dhp19_cams):
    path, _, t, joints = _write(tmp_path, rng, dhp19_cams=dhp19_cams)
    with EventRecording(path) as rec:
        j, ok = rec.joints_at(t[7] + 2_500)  # a quarter of the way to sample 8
        np.testing.assert_allclose(j, 0.75 * joints[7] + 0.25 * joints[8], rtol=1e-6)
        assert ok.all()
        j, _ = rec.joints_at(np.array([t[3], -10, 10**9]))
        np.testing.assert_allclose(j, np.stack([joints[3], joints[0], joints[-1]]), rtol=1e-6)


def test_invalid_joints_are_nan_in_interpolation(tmp_path, dhp19_cams):
    cam = dhp19_cams["cam2"]
    t = np.array([0, 10_000, 20_000], dtype=np.int64)
    j = np.zeros((3, 13, 3), np.float32)
    j[1, 4] = np.nan
    valid = np.ones((3, 13), bool)
    valid[1, 4] = False
    write_recording(tmp_path / "r.h5", {"cam2": (cam, random_events(np.random.default_rng(0), 10, labels=False))},
                    poses=(t, j, valid))
    with EventRecording(tmp_path / "r.h5") as rec:
        out, ok = rec.joints_at(np.array([5_000, 10_000, 20_000]))
        assert not ok[0, 4] and not ok[1, 4] and ok[2, 4]
        assert np.isnan(out[0, 4]).all() and ok[0, 3]


def test_empty_camera_and_no_poses(tmp_path, dhp19_cams):
    path = write_recording(tmp_path / "e.h5", {"cam1": (dhp19_cams["cam1"], np.empty(0, event_dtype()))})
    with EventRecording(path) as rec:
        assert rec.num_events("cam1") == 0
        assert len(rec.events("cam1", 0, 10**9)) == 0
        assert not rec.has_poses
        assert rec.time_range("cam1") == (0, 0)


def test_writer_streams_chunks_and_context_manager(tmp_path, rng, dhp19_cams):
    ev = random_events(rng, 5000, labels=False)
    with EventFileWriter(tmp_path / "s.h5", source="unit") as w:
        w.add_camera(dhp19_cams["cam4"])
        for i in range(0, 5000, 999):
            w.append_events("cam4", ev[i : i + 999])
    rec = EventRecording(tmp_path / "s.h5")
    np.testing.assert_array_equal(rec.events_slice("cam4", 0, 5000), ev)
    rec.close()
    rec.close()  # closing twice is harmless
