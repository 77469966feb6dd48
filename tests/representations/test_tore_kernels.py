"""The compiled TORE passes against brute force, and the paths that use them against the
vectorised forms (bit for bit)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evpose.representations import EventTensors, tore_at_events, tore_volume
from evpose.representations.tore_kernels import EMPTY, earlier_times, latest_slots, rewrite_slots, scan_events, write_slots
from evpose.types import make_events


def random_events(rng, n, sensor, t_end, sort=True):
    h, w = sensor
    t = rng.integers(0, t_end, n)  # t_end small against n: many ties
    ev = make_events(t, rng.integers(0, w, n), rng.integers(0, h, n), rng.integers(0, 2, n))
    return ev[np.argsort(ev["t"], kind="stable")] if sort else ev


@pytest.mark.parametrize("k", [1, 3])
def test_latest_slots_are_each_buffers_most_recent_events(k):
    sensor = (4, 5)
    ev = random_events(np.random.default_rng(k), 400, sensor, 300)
    t_lo, t_hi = 40, 251
    index, event = latest_slots(ev["t"], ev["x"], ev["y"], ev["p"], t_lo, t_hi, sensor[1], 20, k)
    want = {}
    for i in range(len(ev) - 1, -1, -1):  # brute force: per buffer, the latest k in range, later first
        if t_lo < ev["t"][i] < t_hi:
            buf = (0 if ev["p"][i] > 0 else 1, int(ev["y"][i]) * sensor[1] + int(ev["x"][i]))
            slots = want.setdefault(buf, [])
            if len(slots) < k:
                slots.append(i)
    expect = {(b * k + j) * 20 + px: i for (b, px), slots in want.items() for j, i in enumerate(slots)}
    assert dict(zip(index.tolist(), event.tolist())) == expect and len(index) == len(expect)


@pytest.mark.parametrize("fill", [True, False])
def test_write_slots_fills_each_channel_then_writes_its_slots(fill):
    rng = np.random.default_rng(3)
    channels, area = 6, 35
    index = rng.choice(channels * area, 80, replace=False)  # distinct, in no order
    values = rng.normal(size=80)  # float64 into float32, rounded as numpy rounds
    flat = np.full(channels * area, -7.0, dtype=np.float32)
    write_slots(flat, np.float32(2.5), index, values, area, fill)
    expected = np.full(channels * area, 2.5 if fill else -7.0, dtype=np.float32)
    for i, v in zip(index, values):
        expected[i] = np.float32(v)
    assert np.array_equal(flat, expected)


def test_rewrite_slots_empties_the_previous_slots_then_writes_the_new():
    rng = np.random.default_rng(2)
    empty = np.float32(10.5)
    flat = np.full(3 * 40, empty, dtype=np.float32)
    previous = rng.choice(flat.size, 30, replace=False)
    flat[previous] = rng.random(30)
    index = rng.choice(flat.size, 25, replace=False)  # overlaps previous in places
    values = rng.random(25) * 10
    want = np.full_like(flat, empty)
    want[index] = values.astype(np.float32)
    rewrite_slots(flat, empty, previous, index, values)
    np.testing.assert_array_equal(flat, want)


def test_scan_events_finds_the_first_event_outside_and_the_order():
    ev = make_events([0, 5, 3, 9], [0, 1, 2, 7], [0, 1, 1, 0], [1, 0, 1, 1])
    assert scan_events(ev["t"], ev["x"], ev["y"], 8, 2) == (-1, False)
    assert scan_events(ev["t"], ev["x"], ev["y"], 7, 2) == (3, False)
    assert scan_events(ev["t"][:2], ev["x"][:2], ev["y"][:2], 2, 2) == (-1, True)


def test_earlier_times_against_brute_force():
    sensor, k = (3, 4), 3
    ev = random_events(np.random.default_rng(1), 500, sensor, 200)
    rows = np.full(len(ev), -1, dtype=np.int64)
    asked = np.random.default_rng(2).permutation(np.arange(100, len(ev)))[:150]
    rows[asked] = np.arange(150)
    got = earlier_times(ev["t"], ev["x"], ev["y"], ev["p"], rows, sensor[1], k)
    assert got.shape == (150, 2 * k)
    for r, i in enumerate(asked):
        for b in (0, 1):
            same = (ev["x"] == ev["x"][i]) & (ev["y"] == ev["y"][i]) & ((ev["p"] > 0) == (b == 0)) & (ev["t"] < ev["t"][i])
            want = sorted(ev["t"][same].tolist(), reverse=True)[:k]
            want += [EMPTY] * (k - len(want))
            assert got[r, b * k : (b + 1) * k].tolist() == want


@pytest.mark.parametrize("ts", [0, 1234.5, 5000])
def test_in_place_volume_equals_the_column_path(ts):
    """The structured array read in place (compiled pass) and its columns on the vectorised
    path: the same bits; likewise a shuffled copy (the general sort path)."""
    sensor = (6, 7)
    ev = random_events(np.random.default_rng(3), 3000, sensor, 5000)
    fast = tore_volume(ev, ts, sensor)
    cols = EventTensors(*(torch.from_numpy(np.ascontiguousarray(ev[f]).astype(np.int64)) for f in "txyp"))
    assert torch.equal(fast, tore_volume(cols, ts, sensor))
    assert torch.equal(fast, tore_volume(ev[np.random.default_rng(0).permutation(len(ev))], ts, sensor))


def test_at_events_in_order_equals_the_sorting_path():
    sensor = (5, 5)
    ev = random_events(np.random.default_rng(4), 2000, sensor, 1500)
    hist, win = ev[:700], ev[700:]
    perm = np.random.default_rng(1).permutation(len(win))
    index = torch.from_numpy(np.random.default_rng(2).permutation(len(win))[:300])
    fast = tore_at_events(win, sensor, k=2, history=hist, index=index)
    slow = tore_at_events(win[perm], sensor, k=2, history=hist)  # unordered: the sort path
    inv = torch.from_numpy(np.argsort(perm))
    assert torch.equal(fast, slow[inv][index])
