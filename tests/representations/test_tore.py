"""tore_volume against a plain per-event loop, and its bad-input errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from evpose.representations import EventTensors, tore_upper_bound, tore_volume, tore_volume_tensors
from evpose.types import make_events
from tests.representations.conftest import loop_tore, moving_blob_events

SENSOR = (7, 9)


def test_upper_bound_value():
    assert tore_upper_bound() == pytest.approx(math.log(5e6 + 1) - math.log(151), abs=1e-12)
    assert tore_upper_bound() == pytest.approx(10.41, abs=0.01)


@pytest.mark.parametrize("sample_time", [0, 1, 7_000, 20_000.5, 39_999, 45_000])
def test_matches_loop_reference(blob_events, sample_time):
    got = tore_volume(blob_events, sample_time, SENSOR)
    assert got.dtype == torch.float32 and got.shape == (8, *SENSOR)
    ref = loop_tore(blob_events, sample_time, SENSOR)
    assert np.abs(got.numpy() - ref).max() <= 1e-5


def test_events_at_and_after_sample_time_are_ignored(blob_events):
    ts = int(blob_events["t"][1500])
    at = blob_events["t"] == ts
    assert at.sum() >= 1
    # dropping everything at or after ts changes nothing
    np.testing.assert_array_equal(
        tore_volume(blob_events, ts, SENSOR).numpy(), tore_volume(blob_events[blob_events["t"] < ts], ts, SENSOR).numpy()
    )


def test_hand_computed_pixel():
    # one pixel, positive events at 0, 100, 1000, 1000 (tie), 3000 and a negative at 2000
    ev = make_events([0, 100, 1000, 1000, 2000, 3000], [1] * 6, [0] * 6, [1, 1, 1, 1, 0, 1])
    vol = tore_volume(ev, 3000, (1, 2), k=3).numpy()  # the event at 3000 is excluded
    lg = lambda dt: max(math.log(dt + 1) - math.log(151), 0.0)  # noqa: E731
    np.testing.assert_allclose(vol[:3, 0, 1], [lg(2000), lg(2000), lg(2900)], atol=1e-6)
    np.testing.assert_allclose(vol[3:, 0, 1], [lg(1000), tore_upper_bound(), tore_upper_bound()], atol=1e-6)
    assert (vol[:, 0, 0] == np.float32(tore_upper_bound())).all()  # empty pixel
    # ages under min_dt read 0, ages over max_dt the upper bound
    near = tore_volume(ev, 3100, (1, 2), k=1).numpy()
    assert near[0, 0, 1] == 0.0
    far = tore_volume(ev, 3000 + 6e6 + 1, (1, 2), k=1).numpy()
    assert far[0, 0, 1] == pytest.approx(tore_upper_bound(), abs=1e-6)


@pytest.mark.parametrize("k,min_dt,max_dt", [(1, 150.0, 5e6), (3, 0.0, 1e4), (6, 500.0, 3e4)])
def test_parameters_match_loop(blob_events, k, min_dt, max_dt):
    got = tore_volume(blob_events, 31_234, SENSOR, k=k, min_dt=min_dt, max_dt=max_dt).numpy()
    ref = loop_tore(blob_events, 31_234, SENSOR, k=k, min_dt=min_dt, max_dt=max_dt)
    assert np.abs(got - ref).max() <= 1e-5


def test_many_sample_times_in_one_pass(blob_events):
    times = [25_000, 0, 12_345.5, 39_999, 25_000]
    got = tore_volume(blob_events, times, SENSOR)
    assert got.shape == (5, 8, *SENSOR)
    for i, ts in enumerate(times):
        assert np.abs(got[i].numpy() - loop_tore(blob_events, ts, SENSOR)).max() <= 1e-5


def test_unsorted_events_give_the_same_volume():
    rng = np.random.default_rng(3)
    ev = moving_blob_events(rng, 2000, sort=False)
    ref = loop_tore(ev, 30_000, SENSOR)
    assert np.abs(tore_volume(ev, 30_000, SENSOR).numpy() - ref).max() <= 1e-5


def test_empty_and_single_event():
    empty = make_events([], [], [], [])
    vol = tore_volume(empty, 10, SENSOR)
    assert (vol == np.float32(tore_upper_bound())).all()
    one = make_events([5], [2], [3], [0])
    vol = tore_volume(one, 1005, SENSOR, k=2).numpy()
    assert vol[2, 3, 2] == pytest.approx(math.log(1001) - math.log(151), abs=1e-6)
    assert (np.delete(vol.reshape(-1), 2 * 63 + 3 * 9 + 2) == np.float32(tore_upper_bound())).all()


def test_tensor_variant_matches(blob_events):
    cols = EventTensors(*(torch.from_numpy(blob_events[f].astype(np.int64)) for f in "txyp"))
    a = tore_volume_tensors(cols, [100, 30_000], SENSOR)
    b = tore_volume(blob_events, [100, 30_000], SENSOR)
    assert torch.equal(a, b)


def test_polarity_rule_positive_is_p_greater_than_zero():
    ev = make_events([0, 0, 0], [0, 1, 2], [0, 0, 0], [1, 0, -1])
    vol = tore_volume(ev, 1000, (1, 3), k=1).numpy()
    assert vol[0, 0, 0] < tore_upper_bound() and vol[1, 0, 0] == np.float32(tore_upper_bound())
    assert vol[1, 0, 1] < tore_upper_bound() and vol[1, 0, 2] < tore_upper_bound()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(k=0), "positive integer"),
        (dict(k=2.5), "positive integer"),
        (dict(min_dt=-1.0), "min_dt"),
        (dict(max_dt=100.0), "max_dt"),
    ],
)
def test_bad_parameters(blob_events, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tore_volume(blob_events, 100, SENSOR, **kwargs)


def test_events_outside_sensor_are_rejected():
    ev = make_events([0, 1], [3, 9], [0, 0], [1, 1])
    with pytest.raises(ValueError, match=r"events\[1\]\.x = 9 is outside the sensor \(width 9"):
        tore_volume(ev, 10, SENSOR)
    ev = make_events([0], [0], [7], [1])
    with pytest.raises(ValueError, match=r"y = 7 .*height 7"):
        tore_volume(ev, 10, SENSOR)


def test_bad_event_array():
    with pytest.raises(TypeError, match="structured array"):
        tore_volume(np.zeros(3), 10, SENSOR)
    with pytest.raises(ValueError, match="sensor_size"):
        tore_volume(make_events([0], [0], [0], [1]), 10, (0, 5))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(blob_events):
    cpu = tore_volume(blob_events, [5_000, 30_000], SENSOR)
    gpu = tore_volume(blob_events, [5_000, 30_000], SENSOR, device="cuda")
    assert gpu.device.type == "cuda"
    assert torch.allclose(cpu, gpu.cpu(), atol=1e-6)


def test_torch_kernel_equals_numpy_kernel(blob_events):
    """The device (torch) kernel, run here on CPU, equals the CPU (numpy) kernel."""
    from evpose.representations import tore as tore_module

    ev = EventTensors.from_events(blob_events)
    times = torch.tensor([0.0, 7_000.0, 20_000.5, 45_000.0], dtype=torch.float64)
    out = torch.full((4, 8, 63), tore_upper_bound(), dtype=torch.float32)
    tore_module._fill_volumes(out, ev, times, SENSOR, 4, 150.0, 5e6)
    want = tore_volume(blob_events, times.tolist(), SENSOR)
    assert torch.allclose(out.view(4, 8, *SENSOR), want, atol=1e-6)


def uniform_events(rng, n, sensor_size, t_end):
    """Time-sorted events spread uniformly over the sensor (ties included)."""
    h, w = sensor_size
    t = np.sort(rng.integers(0, t_end, n))
    return make_events(t, rng.integers(0, w, n), rng.integers(0, h, n), rng.integers(0, 2, n))


@pytest.mark.parametrize(
    "n,sensor,t_end",
    [
        (3_000, (20, 30), 50_000),  # small window: numpy radix sort of 16-bit labels
        (70_000, (26, 26), 2_000_000),  # over 65536 events: torch's radix sort of buffer ids
        (40_000, (3, 4), 30_000),  # many events per buffer, many ties
    ],
)
def test_uniform_events_match_loop(n, sensor, t_end):
    ev = uniform_events(np.random.default_rng(n), n, sensor, t_end)
    for ts in (t_end // 2 + 0.5, t_end) if n < 65_536 else (t_end // 3 + 0.5,):
        got = tore_volume(ev, ts, sensor).numpy()
        assert np.abs(got - loop_tore(ev, ts, sensor)).max() <= 1e-5
        # the time-ordered fast path and the general path (unsorted events) agree exactly
        shuffled = ev[np.random.default_rng(0).permutation(n)]
        np.testing.assert_array_equal(got, tore_volume(shuffled, ts, sensor).numpy())


@pytest.mark.parametrize(
    "t,x,y,p,ts",
    [
        ([5], [2], [3], [1], 6),  # one event, just before the sample time
        ([5], [2], [3], [1], 5),  # one event, at the sample time: nothing counts
        ([5, 5, 5], [2, 2, 2], [3, 3, 3], [1, 0, 1], 7),  # one instant, one pixel
        ([0, 1, 2, 3, 4, 5], [0] * 6, [0] * 6, [1] * 6, 6),  # more than k events in one buffer
        ([10, 20], [1, 8], [6, 0], [0, 1], 9),  # every event at or after the sample time
        ([0, 3, 7_000_000], [1, 1, 4], [2, 2, 5], [1, 1, 0], 7_000_001),  # older than max_dt
        ([100, 100, 200], [8, 0, 8], [6, 0, 6], [-1, 1, 0], 1e9),  # all older than max_dt
    ],
)
def test_tiny_windows_match_loop(t, x, y, p, ts):
    ev = make_events(t, x, y, p)
    for k in (1, 4):
        got = tore_volume(ev, ts, SENSOR, k=k).numpy()
        assert np.abs(got - loop_tore(ev, ts, SENSOR, k=k)).max() <= 1e-5
