"""StreamWindows: windows at fixed output times from chunks, against a plain reference."""

from __future__ import annotations

import numpy as np
import pytest

from evpose.data import StreamWindows, recording_chunks
from evpose.io import EventRecording
from evpose.types import make_events
from tests.helpers import random_events


def reference(ev, rate_hz, num_events=None, duration_us=None):
    """Every output time on the grid from the first event, with a plain search per window."""
    t = ev["t"]
    period = 1e6 / rate_hz
    out, m = [], 1
    while True:
        T = int(t[0]) + int(round(m * period))
        if T > int(t[-1]) + 1:
            return out
        i1 = int(np.sum(t < T))
        if num_events is not None:
            if i1 >= num_events:
                out.append((m, T, i1 - num_events, i1))
        elif T - duration_us >= int(t[0]):
            out.append((m, T, int(np.sum(t < T - duration_us)), i1))
        m += 1


def feed(cutter, ev, rng, max_chunk):
    got, i = [], 0
    while i < len(ev):
        n = int(rng.integers(0, max_chunk + 1))  # empty chunks too
        got += cutter.push(ev[i : i + n])
        i += n
    return got + cutter.close()


@pytest.mark.parametrize("window", [{"num_events": 300}, {"duration_us": 40_000}])
@pytest.mark.parametrize("max_chunk", [1, 37, 5000])
@pytest.mark.parametrize("history_us", [0, 30_000])
def test_windows_equal_the_reference_for_any_chunking(window, max_chunk, history_us):
    rng = np.random.default_rng(max_chunk)
    ev = random_events(rng, 3000, t1=400_000, labels=False)
    ev["t"][100:140] = ev["t"][100]  # a run of equal timestamps (likely split over chunks)
    got = feed(StreamWindows(250.0, **window, history_us=history_us), ev, rng, max_chunk)
    ref = reference(ev, 250.0, **window)
    assert [(w.index, w.t_end, w.i0, w.i1) for w in got] == ref
    assert len(ref) > 50
    for w in got:
        np.testing.assert_array_equal(w.events, ev[w.i0 : w.i1])
        assert np.all(w.events["t"] < w.t_end)
        if history_us:  # the stream's events of [t_start - history_us, t_start) before the window
            h0 = int(np.sum(ev["t"] < w.t_start - history_us))
            np.testing.assert_array_equal(w.history, ev[h0 : w.i0])
        else:
            assert w.history is None


def test_buffer_stays_bounded_and_no_window_before_the_first_full_one():
    rng = np.random.default_rng(0)
    ev = random_events(rng, 20_000, t1=2_000_000, labels=False)
    cutter = StreamWindows(100.0, num_events=500)
    sizes, got = [], []
    for c in np.array_split(ev, 200):
        got += cutter.push(c)
        sizes.append(len(cutter._buf))
    assert max(sizes) <= 500 + 2 * 100 + 10
    assert got[0].i0 == 0 or got[0].i1 - got[0].i0 == 500
    assert int(np.sum(ev["t"] < got[0].t_end - 10_000)) < 500  # the previous output time had too few


def test_bad_chunks_are_refused_clearly():
    ev = make_events([10, 20, 30], [1, 2, 3], [1, 2, 3], [1, 0, 1])
    cutter = StreamWindows(100.0, num_events=2)
    cutter.push(ev)
    with pytest.raises(ValueError, match=r"chunk 1 goes back in time: it starts at 25 us, before the previous chunk's last event \(30 us\)"):
        cutter.push(make_events([25], [1], [1], [1]))
    with pytest.raises(ValueError, match=r"chunk 2: event times go back at index 1 \(35 us after 40 us\)"):
        cutter.push(make_events([40, 35], [1, 1], [1, 1], [1, 1]))
    with pytest.raises(TypeError, match="chunk 3: events must be a structured array"):
        cutter.push(np.zeros((4, 4)))
    floats = np.zeros(2, dtype=[("t", "f8"), ("x", "i2"), ("y", "i2"), ("p", "i1")])
    with pytest.raises(TypeError, match="chunk 4: events field 't' must be integer, got float64"):
        cutter.push(floats)
    with pytest.raises(TypeError, match=r"chunk 5: events lack field\(s\) \['p'\]"):
        cutter.push(np.zeros(2, dtype=[("t", "i8"), ("x", "i2"), ("y", "i2")]))
    for bad in ({"rate_hz": 0}, {"rate_hz": 10, "num_events": 0}, {"rate_hz": 10, "num_events": None}):
        with pytest.raises(ValueError):
            StreamWindows(**bad)


def test_recording_chunks_cover_the_camera_in_order(tiny_dataset):
    path = next((tiny_dataset / "test").glob("*.h5"))
    with EventRecording(path) as rec:
        chunks = list(recording_chunks(rec, "cam2", chunk_us=7_000))
        ev = rec.events_slice("cam2", 0, rec.num_events("cam2"))
    assert all(len(c) for c in chunks) and len(chunks) > 10
    np.testing.assert_array_equal(np.concatenate(chunks), ev)
    assert all(c["t"][-1] - c["t"][0] < 7_000 for c in chunks)
