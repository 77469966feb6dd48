"""The vectorised background-activity filter against a plain loop of DHP19's script."""

from __future__ import annotations

import numpy as np
import pytest

from evpose.io.dhp19 import BackgroundActivityFilter


def loop_reference(t, col, row, width, height, dt, own=False, initial=0):
    """DHP19's BackgroundFilter.m, one event at a time (0-based here)."""
    last = np.full((width, height), initial, dtype=np.int64)
    keep = np.zeros(len(t), dtype=bool)
    for i in range(len(t)):
        c, r, ti = int(col[i]), int(row[i]), int(t[i])
        keep[i] = ti - last[c, r] <= dt
        if not (c == 0 or c == width - 1 or r == 0 or r == height - 1):
            own_value = last[c, r]
            last[c - 1 : c + 2, r - 1 : r + 2] = ti
            if not own:
                last[c, r] = own_value
    return keep


def random_stream(rng, n, width, height, t_max, monotone=True):
    t = rng.integers(0, t_max, n)
    t = np.sort(t) if monotone else t
    t[rng.random(n) < 0.2] = t[0]  # many equal timestamps ...
    t = np.sort(t) if monotone else t
    col = rng.integers(0, width, n)
    row = rng.integers(0, height, n)
    edge = rng.random(n) < 0.25  # ... and many border pixels
    col[edge] = rng.choice([0, width - 1], edge.sum())
    edge = rng.random(n) < 0.25
    row[edge] = rng.choice([0, height - 1], edge.sum())
    return t, col, row


def run_in_pieces(f, t, col, row, rng):
    out, a = [], 0
    while a < len(t):
        b = a + int(rng.integers(1, 400))
        out.append(f(t[a:b], col[a:b], row[a:b]))
        a = b
    return np.concatenate(out)


@pytest.mark.parametrize("own", [False, True])
@pytest.mark.parametrize("monotone", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_bit_exact_on_random_streams(own, monotone, seed):
    rng = np.random.default_rng(seed)
    width, height = int(rng.integers(3, 9)), int(rng.integers(3, 7))
    dt = int(rng.integers(0, 60))
    t, col, row = random_stream(rng, 2500, width, height, t_max=3000, monotone=monotone)
    want = loop_reference(t, col, row, width, height, dt, own)
    assert 0.1 < want.mean() < 0.95  # both outcomes are exercised
    for block in (1, 7, 1 << 16):
        f = BackgroundActivityFilter(width, height, dt_us=dt, stamp_own_pixel=own, block=block)
        got = run_in_pieces(f, t, col, row, rng)
        np.testing.assert_array_equal(got, want)
        assert f.monotone == monotone


@pytest.mark.parametrize("own", [False, True])
def test_switch_from_monotone_to_any_order_midway(own):
    rng = np.random.default_rng(11)
    width, height, dt = 7, 5, 40
    t1, c1, r1 = random_stream(rng, 1500, width, height, 2000)
    t2, c2, r2 = random_stream(rng, 1500, width, height, 2000, monotone=False)
    t, col, row = np.concatenate([t1, t2 + 1000]), np.concatenate([c1, c2]), np.concatenate([r1, r2])
    want = loop_reference(t, col, row, width, height, dt, own)
    f = BackgroundActivityFilter(width, height, dt_us=dt, stamp_own_pixel=own, block=300)
    np.testing.assert_array_equal(run_in_pieces(f, t, col, row, rng), want)
    assert not f.monotone


def test_dhp19_sized_map_and_absolute_times():
    rng = np.random.default_rng(3)
    n = 4000
    t = 1_000_000_000 + np.sort(rng.integers(0, 300_000, n))  # absolute us, like DHP19's stamps
    col, row = rng.integers(600, 640, n), rng.integers(100, 130, n)
    col[:50] = rng.choice([0, 1383], 50)
    row[50:100] = rng.choice([0, 259], 50)
    want = loop_reference(t, col, row, 1384, 260, 70_000)
    assert not want[0]  # the first event ever has no support: its stamp is 0, 1e9 us old
    got = BackgroundActivityFilter()(t, col, row)
    np.testing.assert_array_equal(got, want)


def test_hand_made_case():
    # 5x5 map, dt = 100 us; a never stamped pixel holds 0, so (t, col, row) start at 1000
    ev = [
        (1010, 2, 2),  # 1010 us after the initial 0: fails; stamps the 8 neighbours of (2, 2)
        (1015, 2, 2),  # its own pixel was not stamped: fails
        (1020, 1, 1),  # stamped at 1010 by (2, 2): passes; stamps (2, 2) among others
        (1025, 2, 2),  # stamped at 1020 by (1, 1): passes; stamps (3, 3) at 1025
        (1200, 3, 3),  # 175 us after its stamp: fails; stamps (4, 4) and (4, 3) at 1200
        (1201, 4, 4),  # border pixel: stamped, so it passes, but it stamps nothing
        (1202, 4, 3),  # stamped at 1200 by (3, 3): passes
        (1400, 0, 0),  # corner, stamped at 1020 by (1, 1): 380 us old, fails
    ]
    want = [False, False, True, True, False, True, True, False]
    t, col, row = (np.array(v) for v in zip(*ev))
    assert loop_reference(t, col, row, 5, 5, 100).tolist() == want
    assert BackgroundActivityFilter(5, 5, dt_us=100)(t, col, row).tolist() == want
    # with own-pixel stamps, (2, 2) at 1015 is supported by its own stamp at 1010
    assert BackgroundActivityFilter(5, 5, dt_us=100, stamp_own_pixel=True)(t, col, row).tolist()[:2] == [False, True]


def test_bad_arguments():
    f = BackgroundActivityFilter(5, 5, dt_us=10)
    with pytest.raises(ValueError, match="outside the 5x5 map"):
        f(np.array([1]), np.array([5]), np.array([0]))
    with pytest.raises(ValueError, match="same length"):
        f(np.array([1, 2]), np.array([1]), np.array([1]))
    with pytest.raises(ValueError, match="at least 3x3"):
        BackgroundActivityFilter(2, 5)
    assert f(np.array([], dtype=np.int64), np.array([]), np.array([])).shape == (0,)
