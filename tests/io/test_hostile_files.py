"""Files that lie: reads are right or refuse (issue 15).

Each file is written correctly, then edited with h5py the way a damaged or hostile file
would be; the expected events come from the original arrays, not from evpose's reader.
"""

from __future__ import annotations

import time

import h5py
import numpy as np
import pytest

from evpose.data import EventWindowDataset
from evpose.geometry import dhp19_cameras
from evpose.io import EventFileWriter, EventFormatError, EventRecording, write_recording
from evpose.io.format import EVENT_CHUNK
from evpose.types import make_events
from tests.helpers import random_events


@pytest.fixture
def rec_file(tmp_path, dhp19_cams):
    rng = np.random.default_rng(15)
    ev = random_events(rng, 40_000, t0=0, t1=1_000_000, labels=False)
    path = write_recording(tmp_path / "rec.h5", {"cam2": (dhp19_cams["cam2"], ev)})
    return path, ev


def _edit(path, fn):
    with h5py.File(path, "r+") as f:
        fn(f["cameras/cam2/events"])


def test_wrong_ms_index_entry_is_refused_where_it_is_used(rec_file):
    path, ev = rec_file
    t = ev["t"]

    def shift(g):  # entry of ms 500 moved back by 3 events: still non-decreasing, now wrong
        ms = g["ms_to_idx"]
        ms[500] = ms[500] - 3
        assert np.all(np.diff(ms[:]) >= 0)

    _edit(path, shift)
    with EventRecording(path) as rec:
        # reads whose ends lie away from ms 500 (they use the entries of ms a//1000, a//1000 + 1,
        # b//1000, b//1000 + 1) are exact
        for a, b in [(0, 1000), (100_000, 498_500), (501_000, 900_500), (250_000, 750_000)]:
            np.testing.assert_array_equal(rec.events("cam2", a, b), ev[(t >= a) & (t < b)])
        # a read with an end in ms 499 or 500 uses the wrong entry: refused
        for a, b in [(400_000, 500_000), (500_000, 600_000), (499_100, 500_200), (500_300, 500_700), (499_500, 499_999)]:
            with pytest.raises(EventFormatError, match=r"ms_to_idx: wrong entry \d+ at ms 500"):
                rec.events("cam2", a, b)
        with pytest.raises(EventFormatError, match="at ms 500"):
            rec.validate()


def test_event_datasets_cut_to_one_shorter_length_are_refused(rec_file, tmp_path):
    path, ev = rec_file

    def cut(g):
        for f in "txyp":
            g[f].resize((30_000,))

    _edit(path, cut)
    with pytest.raises(EventFormatError, match=r"ms_to_idx: last entry 40000 but the event datasets hold 30000 events"):
        EventRecording(path)
    with pytest.raises(EventFormatError, match="rec.h5"):
        EventWindowDataset([path], window="count", num_events=1000, labels=False)


def test_one_field_shorter_than_the_others(rec_file):
    path, _ = rec_file
    _edit(path, lambda g: g["p"].resize((39_999,)))
    with pytest.raises(EventFormatError, match=r"events/p: length 39999 differs from events/t length 40000"):
        EventRecording(path)


def test_ms_index_of_another_length(rec_file):
    path, ev = rec_file
    _edit(path, lambda g: g["ms_to_idx"].resize((600,)))  # ends at ms 599; the last event is at ~1000 ms
    with pytest.raises(EventFormatError, match=r"ms_to_idx: last entry .* but the event datasets hold 40000"):
        EventRecording(path)

    def longer(g):
        ms = g["ms_to_idx"]
        k = ms.shape[0]
        ms.resize((k + 5,))
        ms[k:] = 40_000

    path2 = write_recording(path.with_name("longer.h5"), {"cam2": (dhp19_cameras()["cam2"], ev)})
    _edit(path2, longer)
    want = int(ev["t"][-1]) // 1000 + 2
    with pytest.raises(EventFormatError, match=rf"ms_to_idx: length {want + 5}, expected {want}"):
        EventRecording(path2)


def test_small_file_declaring_a_trillion_events_is_refused_quickly(tmp_path, dhp19_cams):
    """30 KB on disk, 10^12 events declared: refused at open, before any allocation."""
    path = tmp_path / "huge.h5"
    ev = random_events(np.random.default_rng(0), 1000, labels=False)
    write_recording(path, {"cam2": (dhp19_cams["cam2"], ev)})

    def inflate(g):
        for f in "txyp":
            g[f].resize((10**12,))
        ms = g["ms_to_idx"]
        ms[-1] = 10**12

    _edit(path, inflate)
    assert path.stat().st_size < 60_000
    t0 = time.perf_counter()
    with pytest.raises(EventFormatError, match=r"events/t: declares 1000000000000 values but stores 1 of its \d+ chunks"):
        EventRecording(path)
    with pytest.raises(EventFormatError, match="declares 1000000000000"):
        EventWindowDataset([path], window="count", num_events=7500, labels=False)
    assert time.perf_counter() - t0 < 5


def test_contiguous_dataset_larger_than_its_storage(tmp_path, dhp19_cams):
    """A hand-made file with contiguous (unchunked) datasets that were never written."""
    path = tmp_path / "contig.h5"
    ev = random_events(np.random.default_rng(0), 100, labels=False)
    write_recording(path, {"cam2": (dhp19_cams["cam2"], ev)})

    def replace(g):
        del g["x"]
        g.create_dataset("x", shape=(100,), dtype="<u2")  # declared, never written

    _edit(path, replace)
    with pytest.raises(EventFormatError, match=r"events/x: declares 100 values \(200 bytes\) but stores 0 bytes"):
        EventRecording(path)


def test_external_storage_is_refused(tmp_path, dhp19_cams):
    path = tmp_path / "ext.h5"
    ev = random_events(np.random.default_rng(0), 100, labels=False)
    write_recording(path, {"cam2": (dhp19_cams["cam2"], ev)})
    outside = tmp_path / "outside.bin"
    outside.write_bytes(ev["x"].astype("<u2").tobytes())

    def replace(g):
        del g["x"]
        g.create_dataset("x", shape=(100,), dtype="<u2", external=[(str(outside), 0, 200)])

    _edit(path, replace)
    with pytest.raises(EventFormatError, match=r"events/x: stored outside this file"):
        EventRecording(path)


def test_validate_of_a_long_file_reads_in_bounded_chunks(rec_file):
    """validate() never reads more than `chunk` values of a dataset at once."""
    path, _ = rec_file
    reads = []
    real_getitem = h5py.Dataset.__getitem__

    def spy(self, key):
        out = real_getitem(self, key)
        if isinstance(out, np.ndarray):
            reads.append(out.size)
        return out

    h5py.Dataset.__getitem__ = spy
    try:
        EventRecording(path).validate(chunk=4096)
    finally:
        h5py.Dataset.__getitem__ = real_getitem
    assert reads and max(reads) <= 4096


@pytest.mark.parametrize(
    "field, values, index, shown",
    [
        ("x", [1.0, 3.7, 5.0], 1, "3.7"),
        ("t", [0.0, 2.5, 7.0], 1, "2.5"),
        ("x", [1.0, 2.0, np.nan], 2, "nan"),
        ("x", [1, -1, 2], 1, "-1"),
        ("y", [1, 70_000, 2], 1, "70000"),
        ("p", [0.0, 1.0, 1.5], 2, "1.5"),
    ],
)
def test_writer_refuses_values_it_cannot_store_exactly(tmp_path, dhp19_cams, field, values, index, shown):
    cols = {"t": np.array([0, 5, 9], dtype=np.int64), "x": np.array([1, 2, 3]), "y": np.array([1, 2, 3]),
            "p": np.array([0, 1, 0])}
    cols[field] = np.array(values)
    ev = np.empty(3, dtype=[(k, v.dtype) for k, v in cols.items()])
    for k, v in cols.items():
        ev[k] = v
    with pytest.raises(EventFormatError, match=rf"events/{field}: value {shown} at index {index} cannot be stored exactly"):
        with EventFileWriter(tmp_path / "w.h5") as w:
            w.add_camera(dhp19_cams["cam2"])
            w.append_events("cam2", ev[:1])  # the first event is fine: the index counts from the stream start
            w.append_events("cam2", ev[1:])
    assert not (tmp_path / "w.h5").exists()
    with pytest.raises(ValueError, match=rf"events {field}: value {shown} at index {index} is not exactly"):
        make_events(cols["t"], cols["x"], cols["y"], cols["p"])


def test_writer_stores_integral_floats_exactly(tmp_path, dhp19_cams):
    ev = np.empty(3, dtype=[("t", "f8"), ("x", "f4"), ("y", "i8"), ("p", "f8")])
    ev["t"], ev["x"], ev["y"], ev["p"] = [0.0, 2.0, 3_000_000.0], [3.0, 345.0, 0.0], [0, 259, 7], [1.0, 0.0, 1.0]
    path = write_recording(tmp_path / "w.h5", {"cam2": (dhp19_cams["cam2"], ev)})
    with EventRecording(path) as rec:
        got = rec.events_slice("cam2", 0, 3)
    assert got["t"].tolist() == [0, 2, 3_000_000] and got["x"].tolist() == [3, 345, 0]
    assert got["y"].tolist() == [0, 259, 7] and got["p"].tolist() == [1, 0, 1]
    assert EVENT_CHUNK > 3
