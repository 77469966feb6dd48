"""The streaming ToreBuilder equals the batch form at every sample time."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evpose.representations import ToreBuilder, tore_upper_bound, tore_volume
from evpose.types import make_events
from tests.representations.conftest import loop_tore, moving_blob_events

SENSOR = (7, 9)


@pytest.mark.parametrize("k", [1, 4])
def test_stream_equals_batch_at_every_sample(k):
    rng = np.random.default_rng(11)
    ev = moving_blob_events(rng, 4000)
    builder = ToreBuilder(SENSOR, k=k)
    fed = 0
    # batches of random sizes, several samples between and inside them, repeated times
    for ts in [0, 50, 3_000, 3_000, 9_999.5, 10_000, 17_000, 26_000, 39_999, 40_000, 60_000]:
        upto = np.searchsorted(ev["t"], ts + rng.integers(0, 5_000))  # some events at/after ts
        if upto > fed:
            for part in np.array_split(np.arange(fed, upto), rng.integers(1, 4)):
                builder.update(ev[part])
            fed = upto
        got = builder.sample(ts)
        want = tore_volume(ev[:fed], ts, SENSOR, k=k)
        assert torch.equal(got, want), ts
        assert np.abs(got.numpy() - loop_tore(ev[:fed], ts, SENSOR, k=k)).max() <= 1e-5


def test_merge_keeps_the_true_k_most_recent():
    # an element-wise merge of old and new buffers would mix slots; the true merge keeps
    # the new events' two most recent (both newer than every old one)
    builder = ToreBuilder((1, 1), k=2, min_dt=0.0)
    builder.update(make_events([0, 10], [0, 0], [0, 0], [1, 1]))
    builder.sample(20)
    builder.update(make_events([30, 40, 50], [0, 0, 0], [0, 0, 0], [1, 1, 1]))
    state = builder.state
    assert state.shape == (2, 2, 1, 1)
    builder.sample(100)
    assert builder.state[0, :, 0, 0].tolist() == [50, 40]


def test_pending_events_wait_for_their_time():
    builder = ToreBuilder((1, 2), k=1, min_dt=0.0)
    builder.update(make_events([10, 20, 30], [0, 0, 1], [0, 0, 0], [1, 1, 0]))
    v = builder.sample(20).numpy()  # only t=10 is before 20
    assert v[0, 0, 0] == pytest.approx(np.log(11), abs=1e-6)
    assert v[1, 0, 1] == np.float32(tore_upper_bound(0.0))
    v = builder.sample(31).numpy()
    assert v[0, 0, 0] == pytest.approx(np.log(12), abs=1e-6)
    assert v[1, 0, 1] == pytest.approx(np.log(2), abs=1e-6)


def test_history_events_reproduce_the_state():
    rng = np.random.default_rng(2)
    ev = moving_blob_events(rng, 1500)
    builder = ToreBuilder(SENSOR)
    builder.update(ev[:1000])
    builder.sample(int(ev["t"][800]))
    hist = builder.history_events()  # buffers + pending
    hist_arr = make_events(*(c.numpy() for c in hist))
    assert len(hist_arr) <= len(ev[:1000])
    ts = int(ev["t"][-1]) + 1
    np.testing.assert_array_equal(
        tore_volume(hist_arr, ts, SENSOR).numpy(), tore_volume(ev[:1000], ts, SENSOR).numpy()
    )


def test_time_must_not_go_back():
    builder = ToreBuilder((2, 2))
    builder.update(make_events([100, 200], [0, 1], [0, 1], [1, 0]))
    builder.sample(150)
    with pytest.raises(ValueError, match="must not decrease"):
        builder.sample(149)
    with pytest.raises(ValueError, match=r"events\[0\]\.t = 120 is before the last sample time 150"):
        builder.update(make_events([120], [0], [0], [1]))
    builder.reset()
    builder.update(make_events([120], [0], [0], [1]))  # fine after reset
    assert builder.num_events == 1


def test_bad_input():
    with pytest.raises(ValueError, match="positive integer"):
        ToreBuilder((2, 2), k=0)
    with pytest.raises(ValueError, match="outside the sensor"):
        ToreBuilder((2, 2)).update(make_events([0], [2], [0], [1]))
