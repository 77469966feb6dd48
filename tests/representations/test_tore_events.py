"""TORE at events against a per-event loop, with and without history."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from evpose.representations import ToreBuilder, tore_at_events, tore_upper_bound
from evpose.types import make_events
from tests.representations.conftest import moving_blob_events

SENSOR = (7, 9)


def loop_at_events(window, history, sensor_size, k=4, min_dt=150.0, max_dt=5e6):
    """For every window event, its pixel's k most recent earlier events per polarity."""
    upper = math.log(max_dt + 1) - math.log(min_dt + 1)
    by_pixel = {}
    for o in list(history) + list(window):
        by_pixel.setdefault((int(o["x"]), int(o["y"])), []).append((int(o["t"]), int(o["p"]) > 0))
    out = np.full((len(window), 2 * k), upper)
    for i, e in enumerate(window):
        for b in (0, 1):
            earlier = sorted(
                (t for t, pos in by_pixel[(int(e["x"]), int(e["y"]))] if pos == (b == 0) and t < e["t"]),
                reverse=True,
            )[:k]
            for j, te in enumerate(earlier):
                v = math.log(min(int(e["t"]) - te, max_dt) + 1) - math.log(min_dt + 1)
                out[i, b * k + j] = min(max(v, 0.0), upper)
    return out


@pytest.fixture
def stream():
    return moving_blob_events(np.random.default_rng(5), 900, sensor_size=SENSOR, t_end=20_000)


def test_matches_loop(stream):
    got = tore_at_events(stream, SENSOR)
    assert got.shape == (900, 8) and got.dtype == torch.float32
    assert np.abs(got.numpy() - loop_at_events(stream, [], SENSOR)).max() <= 1e-5


def test_history_counts(stream):
    hist, win = stream[:400], stream[400:]
    got = tore_at_events(win, SENSOR, k=3, history=hist)
    assert np.abs(got.numpy() - loop_at_events(win, hist, SENSOR, k=3)).max() <= 1e-5
    # the same as computing on the whole stream
    assert torch.equal(got, tore_at_events(stream, SENSOR, k=3)[400:])


def test_builder_state_as_history(stream):
    builder = ToreBuilder(SENSOR)
    builder.update(stream[:400])
    builder.sample(int(stream["t"][400]))
    assert torch.equal(tore_at_events(stream[400:], SENSOR, history=builder), tore_at_events(stream, SENSOR)[400:])


def test_unsorted_window_rows_stay_in_input_order(stream):
    perm = np.random.default_rng(0).permutation(len(stream))
    got = tore_at_events(stream[perm], SENSOR)
    assert torch.equal(got, tore_at_events(stream, SENSOR)[torch.from_numpy(perm)])


def test_own_event_and_same_instant_are_excluded():
    ev = make_events([100, 100, 400], [0, 0, 0], [0, 0, 0], [1, 1, 0])
    f = tore_at_events(ev, (1, 1), k=2, min_dt=0.0).numpy()
    up = np.float32(tore_upper_bound(0.0))
    assert (f[0] == up).all() and (f[1] == up).all()  # the tie at t=100 sees nothing
    assert f[2, 0] == pytest.approx(math.log(301), abs=1e-6) and f[2, 1] == pytest.approx(math.log(301), abs=1e-6)
    assert (f[2, 2:] == up).all()


def test_empty_window_and_errors():
    assert tore_at_events(make_events([], [], [], []), SENSOR).shape == (0, 8)
    with pytest.raises(ValueError, match=r"history\[0\]\.y = 9"):
        tore_at_events(make_events([1], [0], [0], [1]), SENSOR, history=make_events([0], [0], [9], [1]))
    with pytest.raises(ValueError, match="sensor_size"):
        tore_at_events(make_events([1], [0], [0], [1]), SENSOR, history=ToreBuilder((3, 3)))


def test_index_gives_those_events_rows(stream):
    """Only the asked events (any order), against the loop; history still counts."""
    hist, win = stream[:300], stream[300:]
    index = np.random.default_rng(2).permutation(len(win))[:77]
    got = tore_at_events(win, SENSOR, k=3, history=hist, index=torch.from_numpy(index))
    assert got.shape == (77, 6)
    assert np.abs(got.numpy() - loop_at_events(win, hist, SENSOR, k=3)[index]).max() <= 1e-5
    assert torch.equal(got, tore_at_events(win, SENSOR, k=3, history=hist)[torch.from_numpy(index)])
    assert tore_at_events(win, SENSOR, index=torch.zeros(0, dtype=torch.long)).shape == (0, 8)


@pytest.mark.parametrize("index, match", [([0, 0], "distinct"), ([-1], r"\[0, 600\)"), ([600], r"\[0, 600\)")])
def test_bad_index_is_refused(stream, index, match):
    with pytest.raises(ValueError, match=match):
        tore_at_events(stream[300:], SENSOR, index=torch.tensor(index))
