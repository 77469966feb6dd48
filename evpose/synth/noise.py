"""Sensor noise events: background activity (shot noise) and hot pixels, labelled -1.

Background activity is a Poisson process per pixel at ``rate_hz``; the whole sensor's
events are drawn at once (count ~ Poisson(rate H W T), pixels and times uniform).
Hot pixels are a random few pixels firing at a much higher Poisson rate each.
"""

from __future__ import annotations

import numpy as np


def background_activity(
    rng: np.random.Generator,
    height: int,
    width: int,
    duration_us: float,
    rate_hz: float = 0.1,
    on_fraction: float = 0.5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shot-noise events of the whole sensor.

    Args:
        rng: random generator.
        height, width: sensor size.
        duration_us: length of the recording, microseconds (events in ``[0, duration)``).
        rate_hz: events per second per pixel (default 0.1; 0 disables).
        on_fraction: probability that a noise event is ON (default 0.5).

    Returns:
        (t float64 us, pixel int64 flat index, p int8), unsorted.
    """
    if rate_hz < 0:
        raise ValueError(f"noise rate must be >= 0 Hz, got {rate_hz}")
    if not 0 <= on_fraction <= 1:
        raise ValueError(f"on_fraction must be in [0, 1], got {on_fraction}")
    n = int(rng.poisson(rate_hz * height * width * duration_us * 1e-6)) if rate_hz > 0 else 0
    t = rng.uniform(0.0, duration_us, n)
    pix = rng.integers(0, height * width, n)
    p = (rng.random(n) < on_fraction).astype(np.int8)
    return t, pix, p


def hot_pixels(
    rng: np.random.Generator,
    height: int,
    width: int,
    duration_us: float,
    fraction: float = 1e-4,
    rate_hz: tuple[float, float] = (5.0, 50.0),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events of a few hot pixels (each its own Poisson rate, polarity alternating at random).

    Args:
        rng: random generator.
        height, width: sensor size.
        duration_us: length of the recording, microseconds.
        fraction: share of hot pixels on the sensor (default 1e-4, about 9 on a DAVIS346).
        rate_hz: uniform range of their event rates (default 5 .. 50 Hz).

    Returns:
        (t float64 us, pixel int64 flat index, p int8), unsorted.
    """
    if not 0 <= fraction <= 1:
        raise ValueError(f"hot pixel fraction must be in [0, 1], got {fraction}")
    lo, hi = (float(v) for v in rate_hz)
    if not 0 <= lo <= hi:
        raise ValueError(f"hot pixel rate range must satisfy 0 <= low <= high, got {rate_hz}")
    k = int(rng.binomial(height * width, fraction)) if fraction > 0 else 0
    if k == 0:
        return np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int8)
    pixels = rng.choice(height * width, size=k, replace=False)
    rates = rng.uniform(lo, hi, k)
    counts = rng.poisson(rates * duration_us * 1e-6)
    pix = np.repeat(pixels, counts).astype(np.int64)
    t = rng.uniform(0.0, duration_us, pix.size)
    p = rng.integers(0, 2, pix.size).astype(np.int8)
    return t, pix, p
