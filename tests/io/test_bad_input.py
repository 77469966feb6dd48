"""Every bad input named by the format raises EventFormatError naming file, field and value."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from evpose.io import EventFileWriter, EventFormatError, EventRecording, write_recording
from evpose.types import make_events
from tests.helpers import random_events, standing_pose


@pytest.fixture
def good(tmp_path, dhp19_cams):
    rng = np.random.default_rng(5)
    ev = random_events(rng, 3000, labels=False)
    t = np.arange(0, 1_000_000, 10_000, dtype=np.int64)
    j = np.repeat(standing_pose()[None], len(t), 0)
    return write_recording(tmp_path / "good.h5", {"cam2": (dhp19_cams["cam2"], ev)}, poses=(t, j))


def _edit(path, fn):
    with h5py.File(path, "r+") as f:
        fn(f)


def test_is_a_value_error():
    assert issubclass(EventFormatError, ValueError)


def test_missing_group(good):
    _edit(good, lambda f: f.__delitem__("cameras"))
    with pytest.raises(EventFormatError, match=r"good\.h5: cameras: missing group"):
        EventRecording(good)


def test_missing_dataset(good):
    _edit(good, lambda f: f.__delitem__("cameras/cam2/events/p"))
    with pytest.raises(EventFormatError, match=r"cameras/cam2/events/p: missing dataset"):
        EventRecording(good)


def test_missing_ms_index(good):
    _edit(good, lambda f: f.__delitem__("cameras/cam2/events/ms_to_idx"))
    with pytest.raises(EventFormatError, match="ms_to_idx: missing dataset"):
        EventRecording(good)


def test_wrong_dtype(good):
    def fn(f):
        x = f["cameras/cam2/events/x"][:]
        del f["cameras/cam2/events/x"]
        f["cameras/cam2/events/x"] = x.astype(np.float32)

    _edit(good, fn)
    with pytest.raises(EventFormatError, match=r"cameras/cam2/events/x: dtype float32, expected uint16"):
        EventRecording(good)


def test_x_outside_sensor_on_read(good):
    _edit(good, lambda f: f["cameras/cam2/events/x"].__setitem__(1234, 346))
    rec = EventRecording(good)
    rec.events_slice("cam2", 0, 1000)  # untouched region reads fine
    with pytest.raises(EventFormatError, match=r"events/x: value 346 at index 1234 is outside the sensor"):
        rec.events_slice("cam2", 1000, 2000)


def test_y_outside_sensor_on_write(tmp_path, dhp19_cams):
    ev = make_events([0, 1, 2], [1, 2, 3], [5, 260, 7], [0, 1, 0])
    with pytest.raises(EventFormatError, match=r"events/y: value 260 at index 1"):
        write_recording(tmp_path / "w.h5", {"cam1": (dhp19_cams["cam1"], ev)})
    assert not (tmp_path / "w.h5").exists()  # a failed write leaves no half file


def test_decreasing_timestamps_on_read(good):
    def fn(f):
        t = f["cameras/cam2/events/t"]
        t[2000] = t[1999] - 5

    _edit(good, fn)
    with pytest.raises(EventFormatError, match=r"events/t: timestamps decrease at index 2000"):
        EventRecording(good).events_slice("cam2", 1500, 2500)
    # and across a slice boundary
    with pytest.raises(EventFormatError, match=r"index 2000"):
        EventRecording(good).events_slice("cam2", 2000, 2500)


def test_decreasing_timestamps_on_write_across_chunks(tmp_path, dhp19_cams):
    with pytest.raises(EventFormatError, match=r"timestamps decrease at index 2: 5 after 9"):
        with EventFileWriter(tmp_path / "w.h5") as w:
            w.add_camera(dhp19_cams["cam1"])
            w.append_events("cam1", make_events([1, 9], [0, 0], [0, 0], [0, 1]))
            w.append_events("cam1", make_events([5], [0], [0], [0]))


def test_bad_polarity(tmp_path, dhp19_cams):
    with pytest.raises(EventFormatError, match=r"polarity -1 at index 0"):
        write_recording(tmp_path / "w.h5", {"cam1": (dhp19_cams["cam1"], make_events([0], [0], [0], [-1]))})


def test_nan_poses_on_read(good):
    _edit(good, lambda f: f["poses/joints3d"].__setitem__((7, 3, 1), np.nan))
    rec = EventRecording(good)
    with pytest.raises(EventFormatError, match=r"poses/joints3d: non-finite value .* at sample 7, joint 3"):
        rec.poses()


def test_nan_poses_on_write(tmp_path, dhp19_cams):
    j = np.zeros((2, 13, 3))
    j[1, 0, 0] = np.nan
    with pytest.raises(EventFormatError, match=r"sample 1, joint 0"):
        write_recording(tmp_path / "w.h5", {"cam1": (dhp19_cams["cam1"], make_events([0], [0], [0], [0]))},
                        poses=(np.array([0, 10]), j))


def test_not_hdf5(tmp_path):
    p = tmp_path / "notes.h5"
    p.write_text("this is not an HDF5 file")
    with pytest.raises(EventFormatError, match=r"notes\.h5: /: not a readable HDF5 file"):
        EventRecording(p)


def test_truncated_file(good, tmp_path):
    data = good.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(EventFormatError, match=r"cut\.h5"):
        rec = EventRecording(cut)
        rec.events_slice("cam2", 0, rec.num_events("cam2"))
        rec.poses()


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        EventRecording(tmp_path / "nope.h5")


def test_unknown_camera_lists_cameras(good):
    with pytest.raises(KeyError, match=r"no camera 'cam9'; cameras: \['cam2'\]"):
        EventRecording(good).events("cam9", 0, 10)
