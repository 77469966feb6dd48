"""Small structured event streams for the TORE tests: a blob moving over a tiny sensor
(so pixels fire again and again), uniform noise, repeated timestamps and exact
duplicate events (ties)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evpose.types import make_events


def moving_blob_events(rng, n, sensor_size=(7, 9), t_end=40_000, ties=True, sort=True):
    h, w = sensor_size
    t = rng.integers(0, t_end, n)
    phase = 2 * np.pi * t / t_end
    cx = (w - 1) / 2 + (w / 3) * np.cos(phase) + rng.normal(0, 0.8, n)
    cy = (h - 1) / 2 + (h / 3) * np.sin(phase) + rng.normal(0, 0.8, n)
    noise = rng.random(n) < 0.1
    cx[noise], cy[noise] = rng.uniform(0, w, noise.sum()), rng.uniform(0, h, noise.sum())
    x = np.clip(np.round(cx), 0, w - 1)
    y = np.clip(np.round(cy), 0, h - 1)
    p = rng.integers(0, 2, n)
    if ties:  # repeated timestamps and exact duplicates
        t[1::9] = t[0:-1:9][: len(t[1::9])]
        dup = np.arange(2, n, 13)
        t[dup], x[dup], y[dup], p[dup] = t[dup - 1], x[dup - 1], y[dup - 1], p[dup - 1]
    ev = make_events(t, x, y, p)
    return ev[np.argsort(ev["t"], kind="stable")] if sort else ev


def loop_tore(events, sample_time, sensor_size, k=4, min_dt=150.0, max_dt=5e6):
    """Plain per-event reference of ../shared/specs/tore.md."""
    h, w = sensor_size
    upper = math.log(max_dt + 1) - math.log(min_dt + 1)
    buffers = {}
    for e in events:  # one event at a time
        if e["t"] < sample_time:
            key = (0 if e["p"] > 0 else 1, int(e["y"]), int(e["x"]))
            buffers.setdefault(key, []).append(int(e["t"]))
    vol = np.full((2 * k, h, w), upper)
    for (b, y, x), times in buffers.items():
        for j, te in enumerate(sorted(times, reverse=True)[:k]):
            dt = min(sample_time - te, max_dt)
            v = math.log(dt + 1) - math.log(min_dt + 1)
            vol[b * k + j, y, x] = min(max(v, 0.0), upper)
    return vol


@pytest.fixture
def blob_events():
    return moving_blob_events(np.random.default_rng(7), 3000)
