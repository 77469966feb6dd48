"""The event camera model (ESIM / v2e): log intensity, contrast thresholds, refractory period.

See ``shared/specs/event-simulation.md``. Each pixel keeps a reference level ``L_ref``
(its log intensity at the first instant). Between two rendered instants the log intensity
moves linearly from ``L0`` to ``L1``; every crossing of ``L_ref +- C`` fires an event at the
linearly interpolated time and moves ``L_ref`` by ``C``. ``C`` is drawn per pixel from
``N(mean, std)`` (clipped below at ``threshold_min``). An event less than the refractory
period after the pixel's last *emitted* event is dropped (the reference still moves).

Each event carries the label of the pixel at the rendered instant nearer to its time;
if that instant shows background, the other instant's label (a limb leaving a pixel caused
the event). Noise events (:mod:`evpose.synth.noise`) carry -1.

Work per batch of instants touches only the pixels of a region whose log intensity ever
gets a threshold away from its reference (the rest cannot fire); the loop over instants is
vectorised over those pixels, and the events of one step are built with array operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .projection import Region


@dataclass
class EventChunks:
    """Events gathered step by step (unsorted across pixels within a step).

    Shapes (N events):
        t: (N,) float64 microseconds; pixel: (N,) int64 flat index ``y * W + x``;
        p: (N,) int8 polarity 0/1; label: (N,) int16 label code
    """

    t: list
    pixel: list
    p: list
    label: list

    @classmethod
    def empty(cls) -> "EventChunks":
        return cls([], [], [], [])

    def add(self, t, pixel, p, label) -> None:
        if len(t):
            self.t.append(t)
            self.pixel.append(pixel)
            self.p.append(p)
            self.label.append(label)

    def arrays(self):
        """(t, pixel, p, label) concatenated (empty arrays when no event)."""
        if not self.t:
            return (np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.int16))
        return tuple(np.concatenate(v) for v in (self.t, self.pixel, self.p, self.label))


class EventSimulator:
    """Per-pixel event generation for one sensor.

    Args:
        height, width: sensor size.
        rng: random generator for the threshold map.
        threshold_mean: mean contrast threshold C (default 0.2).
        threshold_std: per-pixel standard deviation of C (default 0.03).
        threshold_min: smallest allowed C (default 0.05; the normal's tail is clipped).
        refractory_us: refractory period, microseconds (default 100; 0 disables).
    """

    def __init__(
        self,
        height: int,
        width: int,
        rng: np.random.Generator,
        threshold_mean: float = 0.2,
        threshold_std: float = 0.03,
        threshold_min: float = 0.05,
        refractory_us: float = 100.0,
    ):
        if not threshold_mean > 0:
            raise ValueError(f"threshold_mean must be positive, got {threshold_mean}")
        if threshold_std < 0:
            raise ValueError(f"threshold_std must be >= 0, got {threshold_std}")
        if not 0 < threshold_min <= threshold_mean:
            raise ValueError(f"threshold_min must be in (0, threshold_mean], got {threshold_min}")
        if refractory_us < 0:
            raise ValueError(f"refractory_us must be >= 0, got {refractory_us}")
        self.height, self.width = int(height), int(width)
        c = rng.normal(threshold_mean, threshold_std, (self.height, self.width))
        self.threshold = np.maximum(c, threshold_min).astype(np.float32)
        self.refractory = float(refractory_us)
        self.ref = np.zeros((self.height, self.width), dtype=np.float64)
        self.last_t = np.full((self.height, self.width), -np.inf)
        self.events = EventChunks.empty()

    def reset(self, log_intensity: np.ndarray) -> None:
        """Set every reference level to the first instant's log intensity. Shapes: (H, W)."""
        self.ref[:] = log_intensity
        self.last_t[:] = -np.inf
        self.events = EventChunks.empty()

    def process(self, region: Region, log_seq: np.ndarray, label_seq: np.ndarray, times: np.ndarray) -> None:
        """Fire the events of consecutive instants inside a region.

        Args:
            region: the pixel rectangle of the arrays (every pixel outside it must be
                unchanged over these instants).
            log_seq: (B + 1, h, w) log intensity; row 0 is the previous instant.
            label_seq: (B + 1, h, w) label codes of the same instants.
            times: (B + 1,) microseconds (float), increasing.
        """
        if region.empty:
            return
        B1 = log_seq.shape[0]
        h, w = region.shape
        ys, xs = region.slices
        ref_r = self.ref[ys, xs].reshape(-1)
        C_r = self.threshold[ys, xs].reshape(-1).astype(np.float64)
        L = log_seq.reshape(B1, -1)
        # Only pixels whose log intensity gets a threshold away from the reference can fire.
        act = np.flatnonzero(
            ((L.max(axis=0).astype(np.float64) - ref_r) >= C_r) | ((ref_r - L.min(axis=0).astype(np.float64)) >= C_r)
        )
        if act.size == 0:
            return
        ref = ref_r[act]
        C = C_r[act]
        # Log intensity in threshold units relative to the reference: u. The number of
        # thresholds the reference has moved, c (an integer), follows
        #   c_k = c_{k-1} + trunc(u_k - c_{k-1}) = clip(c_{k-1}, floor(u_k), ceil(u_k)).
        u = (L[:, act].astype(np.float64) - ref) / C  # (B + 1, n)
        lo, hi = np.floor(u), np.ceil(u)
        c = np.zeros_like(u)
        for k in range(1, B1):
            np.maximum(c[k - 1], lo[k], out=c[k])
            np.minimum(c[k], hi[k], out=c[k])
        self.ref[ys, xs] = _scatter(ref_r, act, ref + c[-1] * C).reshape(h, w)
        # (n, B) pixel-major, so that a pixel's events come out in time order
        dc = np.ascontiguousarray(np.diff(c, axis=0).T)
        flat = np.flatnonzero(dc)
        if flat.size == 0:
            return
        step = dc.ravel()[flat]
        ii, kk = np.divmod(flat, B1 - 1)
        cnt = np.abs(step).astype(np.int64)
        sgn = np.sign(step)
        # crossing j (1..cnt) of a step is at level c_{k-1} + sgn j, reached at the
        # linearly interpolated time
        rep = np.repeat(np.arange(ii.size), cnt)
        j = np.arange(rep.size) - np.repeat(np.cumsum(cnt) - cnt, cnt) + 1
        i_e, k_e = ii[rep], kk[rep] + 1  # pixel, instant after the crossing
        u0, u1 = u[k_e - 1, i_e], u[k_e, i_e]
        level = c[k_e - 1, i_e] + sgn[rep] * j
        t0, t1 = times[k_e - 1], times[k_e]
        te = t0 + (level - u0) / (u1 - u0) * (t1 - t0)
        # refractory period: drop events closer than R to the pixel's last emitted one
        last = self.last_t[ys, xs].reshape(-1)
        keep = _refractory(i_e, te, last, act, self.refractory)
        if keep is not None:
            i_e, k_e, te, rep = i_e[keep], k_e[keep], te[keep], rep[keep]
            t0, t1 = t0[keep], t1[keep]
        if te.size == 0:
            return
        tail = np.ones(i_e.size, dtype=bool)
        tail[:-1] = i_e[1:] != i_e[:-1]
        last[act[i_e[tail]]] = te[tail]
        self.last_t[ys, xs] = last.reshape(h, w)
        # label: the instant nearer in time, or the other one if that shows background
        Lb = label_seq.reshape(B1, -1)
        pix = act[i_e]
        la0, la1 = Lb[k_e - 1, pix], Lb[k_e, pix]
        near1 = (te - t0) >= 0.5 * (t1 - t0)
        lb = np.where(near1, la1, la0)
        lb = np.where(lb < 0, np.where(near1, la0, la1), lb)
        ry, rx = np.divmod(pix, w)
        gpix = (ry + region.y0) * self.width + (rx + region.x0)
        p = (sgn[rep] > 0).astype(np.int8)
        self.events.add(te, gpix, p, lb.astype(np.int16))


def _scatter(base: np.ndarray, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = base.copy()
    out[idx] = values
    return out


def _refractory(pixel: np.ndarray, t: np.ndarray, last: np.ndarray, act: np.ndarray, R: float):
    """Which candidate events survive a refractory period ``R`` (None: all of them).

    ``pixel`` (sorted, each pixel's events in time order) indexes ``act``, whose entries
    index ``last`` (the time of each pixel's last emitted event). An event is dropped
    when it comes less than ``R`` after the pixel's previous *emitted* event. Pixels
    with no close pair need no work; the others are resolved rank by rank (the k-th
    event of every such pixel at once).
    """
    if R <= 0 or t.size == 0:
        return None
    first = np.ones(t.size, dtype=bool)
    first[1:] = pixel[1:] != pixel[:-1]
    prev = np.empty_like(t)
    prev[1:] = t[:-1]
    prev[first] = last[act[pixel[first]]]
    close = (t - prev) < R
    if not close.any():
        return None
    # resolve only the pixels that have a close pair, rank by rank
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, t.size))
    bad = np.logical_or.reduceat(close, starts)
    sel = np.flatnonzero(np.repeat(bad, counts))
    starts, counts = starts[bad], counts[bad]
    keep = np.ones(t.size, dtype=bool)
    t_sel = t[sel]
    local = np.concatenate([[0], np.cumsum(counts)[:-1]])  # segment starts within sel
    rank = np.arange(sel.size) - np.repeat(local, counts)
    owner = np.repeat(np.arange(counts.size), counts)
    emitted = last[act[pixel[starts]]].copy()  # per conflicted pixel
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[by_rank], np.arange(int(counts.max()) + 1))
    for r in range(int(counts.max())):
        at = by_rank[bounds[r] : bounds[r + 1]]
        o = owner[at]
        ok = t_sel[at] >= emitted[o] + R
        emitted[o[ok]] = t_sel[at[ok]]
        keep[sel[at[~ok]]] = False
    return keep
