"""ToreVolumeWriter: every volume equals tore_volume's (and the plain loop's), whatever the
windows before it were, and only the previous and the new window's slots are written."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evpose.representations import EventTensors, ToreVolumeWriter, tore_upper_bound, tore_volume
from evpose.types import make_events
from tests.representations.conftest import loop_tore, moving_blob_events

SENSOR = (7, 9)


def windows_of(ev, rng, count):
    """Random contiguous windows of a time-ordered stream, with random sample times (at,
    inside and after the window's last event)."""
    out = []
    for _ in range(count):
        a = int(rng.integers(0, len(ev)))
        b = int(rng.integers(a, min(len(ev), a + 600) + 1))
        win = ev[a:b]
        last = int(win["t"][-1]) if len(win) else 0
        ts = [last + 1, last, last - 37.5, last + 6e6][int(rng.integers(0, 4))]
        out.append((win, ts))
    return out


def test_window_after_window_equals_tore_volume_and_the_loop():
    rng = np.random.default_rng(3)
    ev = moving_blob_events(rng, 4000)
    writer = ToreVolumeWriter(SENSOR)
    for i, (win, ts) in enumerate(windows_of(ev, rng, 40)):
        got = writer(win, ts)
        want = tore_volume(win, ts, SENSOR)
        assert torch.equal(got, want), f"window {i}"
        if i % 8 == 0:
            assert np.abs(got.numpy() - loop_tore(win, ts, SENSOR)).max() <= 1e-5


def test_uniform_windows_on_a_larger_sensor():
    rng = np.random.default_rng(11)
    sensor = (20, 30)
    writer = ToreVolumeWriter(sensor)
    for n in (3000, 10, 2500, 0, 3000):
        t = np.sort(rng.integers(0, 50_000, n))
        ev = make_events(t, rng.integers(0, 30, n), rng.integers(0, 20, n), rng.integers(0, 2, n))
        ts = 25_000.5
        got = writer(ev, ts)
        assert torch.equal(got, tore_volume(ev, ts, sensor))
        assert np.abs(got.numpy() - loop_tore(ev, ts, sensor)).max() <= 1e-5


@pytest.mark.parametrize("k,min_dt,max_dt", [(1, 150.0, 5e6), (3, 10.0, 2_000.0)])
def test_parameters(k, min_dt, max_dt):
    rng = np.random.default_rng(k)
    ev = moving_blob_events(rng, 2000)
    writer = ToreVolumeWriter(SENSOR, k=k, min_dt=min_dt, max_dt=max_dt)
    for win, ts in windows_of(ev, rng, 10):
        got = writer(win, ts)
        assert got.shape == (2 * k, *SENSOR)
        assert torch.equal(got, tore_volume(win, ts, SENSOR, k=k, min_dt=min_dt, max_dt=max_dt))


def test_other_inputs_take_the_general_path_and_the_next_window_is_still_exact():
    rng = np.random.default_rng(5)
    ev = moving_blob_events(rng, 3000)
    writer = ToreVolumeWriter(SENSOR)
    a, b, c = ev[:900], ev[900:1500], ev[1500:2100]
    unsorted = b[rng.permutation(len(b))]  # out of time order: the general path
    tensors = EventTensors.from_events(c)  # columns: the general path
    sequence = [(a, 1e5), (unsorted, 2e5), (a[:10], 3e4), (tensors, 1e6), (ev[:0], 5.0), (c, 1e9), (a, 1e5)]
    for win, ts in sequence:
        got = writer(win, ts)
        assert torch.equal(got, tore_volume(win, ts, SENSOR))


def test_empty_window_gives_the_empty_volume_after_a_full_one():
    ev = moving_blob_events(np.random.default_rng(1), 500)
    writer = ToreVolumeWriter(SENSOR)
    assert (writer(ev, int(ev["t"][-1]) + 1) < tore_upper_bound()).any()
    assert torch.equal(writer(ev[:0], 0), torch.full((8, *SENSOR), tore_upper_bound()))


def test_returns_its_one_volume_and_writes_only_touched_slots():
    writer = ToreVolumeWriter(SENSOR)
    first = writer(make_events([10, 20], [1, 2], [3, 4], [1, 0]), 100)
    empty = float(np.float32(tore_upper_bound()))
    assert float(first[0, 6, 8]) == empty
    # a value planted where neither window has an event survives: nothing else was written
    writer.volume[0, 6, 8] = -1.0
    second = writer(make_events([30], [5], [6], [1]), 100)
    assert second is first is writer.volume
    assert float(second[0, 6, 8]) == -1.0
    assert float(second[0, 3, 1]) == empty  # the first window's slots are empty again
    assert float(second[4, 4, 2]) == empty
    assert float(second[0, 6, 5]) < empty


def test_bad_input_is_named():
    writer = ToreVolumeWriter(SENSOR)
    with pytest.raises(ValueError, match="outside|sensor"):
        writer(make_events([1, 2], [1, 99], [1, 1], [1, 1]), 10)
    with pytest.raises(ValueError, match="one sample time"):
        writer(make_events([1, 2], [1, 2], [1, 1], [1, 1]), [5, 6])
    with pytest.raises(ValueError):
        ToreVolumeWriter(SENSOR, k=0)
