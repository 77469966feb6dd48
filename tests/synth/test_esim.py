"""The event model against a plain per-pixel ESIM loop written here."""

from __future__ import annotations

import numpy as np
import pytest

from evpose.synth.esim import EventSimulator
from evpose.synth.projection import Region


def reference_esim(L, times, C, ref0, refractory, labels=None):
    """Textbook ESIM, one pixel and one crossing at a time.

    L: (K, n) log intensity of n pixels at K instants; C, ref0: (n,).
    Returns a list of (t, pixel, polarity, label) sorted by pixel then time.
    """
    K, n = L.shape
    out = []
    for i in range(n):
        ref = ref0[i]
        last = -np.inf
        for k in range(1, K):
            L0, L1 = L[k - 1, i], L[k, i]
            while True:
                if L1 >= ref + C[i]:
                    level, pol = ref + C[i], 1
                elif L1 <= ref - C[i]:
                    level, pol = ref - C[i], 0
                else:
                    break
                t = times[k - 1] + (level - L0) / (L1 - L0) * (times[k] - times[k - 1])
                ref = level
                if t - last >= refractory:
                    lab = -1
                    if labels is not None:
                        near1 = (t - times[k - 1]) >= 0.5 * (times[k] - times[k - 1])
                        lab = labels[k, i] if near1 else labels[k - 1, i]
                        if lab < 0:
                            lab = labels[k - 1, i] if near1 else labels[k, i]
                    out.append((t, i, pol, lab))
                    last = t
    return out


def run_sim(L, times, C, refractory, labels=None, batch=None):
    """Feed (K, h, w) log frames to EventSimulator in batches; return its events."""
    K, h, w = L.shape
    sim = EventSimulator(h, w, np.random.default_rng(0), refractory_us=refractory)
    sim.threshold[:] = C.reshape(h, w)
    sim.reset(L[0])
    if labels is None:
        labels = np.full(L.shape, -1, dtype=np.int16)
    batch = batch or (K - 1)
    region = Region(0, h, 0, w)
    for s0 in range(1, K, batch):
        s1 = min(s0 + batch, K)
        sim.process(region, L[s0 - 1 : s1], labels[s0 - 1 : s1], times[s0 - 1 : s1])
    t, pix, p, lab = sim.events.arrays()
    order = np.lexsort((t, pix))
    return t[order], pix[order], p[order], lab[order]


@pytest.mark.parametrize("refractory", [0.0, 300.0])
@pytest.mark.parametrize("batch", [1, 5, None])
def test_matches_reference_loop(refractory, batch):
    rng = np.random.default_rng(1)
    K, h, w = 12, 6, 7
    # random walks in log intensity with big jumps (several thresholds per step)
    L = np.cumsum(rng.normal(0, 0.35, (K, h, w)), axis=0).astype(np.float32)
    L[:, 0, :] = 0.0  # a static row: no events there
    times = np.cumsum(rng.uniform(100, 2000, K))
    C = rng.uniform(0.15, 0.25, h * w).astype(np.float32)
    labels = rng.integers(-1, 10, (K, h, w)).astype(np.int16)
    t, pix, p, lab = run_sim(L, times, C, refractory, labels, batch)
    ref = reference_esim(L.reshape(K, -1).astype(np.float64), times, C.astype(np.float64), L[0].ravel().astype(np.float64), refractory, labels.reshape(K, -1))
    assert len(ref) > 50
    assert len(t) == len(ref)
    rt, rpix, rp, rlab = (np.array(v) for v in zip(*ref))
    np.testing.assert_array_equal(pix, rpix)
    np.testing.assert_allclose(t, rt, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(p, rp)
    np.testing.assert_array_equal(lab, rlab)
    assert not np.any(pix < w), "the static row fired"


def test_refractory_drops_but_reference_moves():
    # one pixel ramps up by 10 thresholds in 100 us (a crossing every 10 us): with a 45 us
    # refractory period the crossings at 10 and 60 us are emitted, and the reference
    # still ends 10 thresholds up
    L = np.array([0.0, 2.5, 2.5], dtype=np.float32)[:, None, None]
    times = np.array([0.0, 100.0, 200.0])
    C = np.array([0.25], dtype=np.float32)
    t, pix, p, _ = run_sim(L, times, C, refractory=45.0)
    np.testing.assert_allclose(t, [10.0, 60.0], atol=1e-6)
    assert p.tolist() == [1, 1]
    sim = EventSimulator(1, 1, np.random.default_rng(0), refractory_us=45.0)
    sim.threshold[:] = 0.25
    sim.reset(L[0])
    sim.process(Region(0, 1, 0, 1), L, np.full(L.shape, -1, np.int16), times)
    assert sim.ref[0, 0] == pytest.approx(2.5, abs=1e-9)
    # without refractory period all ten crossings come out, evenly spaced
    t, *_ = run_sim(L, times, C, refractory=0.0)
    np.testing.assert_allclose(t, np.arange(1, 11) * 10.0, atol=1e-6)


def test_static_input_gives_no_events():
    L = np.full((20, 8, 8), -1.3, dtype=np.float32)
    t, *_ = run_sim(L, np.arange(20) * 1000.0, np.full(64, 0.2, np.float32), 100.0)
    assert t.size == 0


def test_threshold_map_statistics():
    sim = EventSimulator(260, 346, np.random.default_rng(3), threshold_mean=0.2, threshold_std=0.03, threshold_min=0.05)
    c = sim.threshold.astype(np.float64)
    assert c.mean() == pytest.approx(0.2, abs=0.001)
    assert c.std() == pytest.approx(0.03, abs=0.001)
    assert c.min() >= 0.05


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"threshold_mean": 0.0}, "threshold_mean"),
        ({"threshold_std": -0.1}, "threshold_std"),
        ({"threshold_min": 0.5}, "threshold_min"),
        ({"refractory_us": -1}, "refractory"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EventSimulator(4, 4, np.random.default_rng(0), **kwargs)
