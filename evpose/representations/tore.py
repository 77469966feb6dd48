"""TORE volumes (Baldwin et al., TPAMI 2022), exactly as ../shared/specs/tore.md defines them.

For a sample time ``t_s``, every pixel keeps two buffers, one for positive events
(``p > 0``) and one for the others, each holding the ``k`` most recent events strictly
before ``t_s``. An event of age ``dt = t_s - t`` becomes

    v = ln(min(dt, max_dt) + 1) - ln(min_dt + 1), clamped to [0, ln(max_dt + 1) - ln(min_dt + 1)]

and an empty slot takes the upper bound (about 10.41 with the default bounds). The
volume is (2k, H, W): channels 0..k-1 the positive buffer, most recent first, channels
k..2k-1 the negative buffer.

One sort of the events by (buffer, pixel, time) answers any number of sample times: a
binary search per (buffer, sample time) finds the most recent event before ``t_s``,
and its ``k - 1`` predecessors sit just before it in the sorted order. No Python loop
runs over events; the cost is one sort plus O(T * G * k) for G non-empty buffers.

Time-ordered events (as recorded) at one sample time take a shorter path: the kept
events are a slice, one compiled pass from the last of them back finds every buffer's
most recent events, and a second writes the volume one channel at a time: fill it with
the empty value, then write its slots while it is in the cache.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from .events import (
    NUMPY_ON_CPU,
    EventTensors,
    check_events,
    check_sensor_size,
    check_tore_params,
    on_numpy,
    sort_values,
)
from .tore_kernels import latest_slots, scan_events, write_slots

#: Ages below this (us) all read 0: "just now" (the reference's value).
MIN_DT = 150.0
#: Ages at or above this (us) read as the upper bound: "nothing for 5 s".
MAX_DT = 5e6
#: evpose's default depth (the reference uses 3 to 5).
DEFAULT_K = 4


def tore_upper_bound(min_dt: float = MIN_DT, max_dt: float = MAX_DT) -> float:
    """The value of an empty slot, ``ln(max_dt + 1) - ln(min_dt + 1)`` (10.41 by default)."""
    return math.log1p(max_dt) - math.log1p(min_dt)


def tore_values(dt: Tensor, min_dt: float = MIN_DT, max_dt: float = MAX_DT) -> Tensor:
    """TORE value of event ages (us): ``ln(min(dt, max_dt) + 1) - ln(min_dt + 1)`` clamped
    to ``[0, upper]``; computed in float64, returned as float32.

    Shapes:
        dt: (...) -> (...) float32
    """
    dt = dt.to(torch.float64).clamp(max=max_dt)
    v = torch.log1p(dt) - math.log1p(min_dt)
    return v.clamp_(0.0, tore_upper_bound(min_dt, max_dt)).to(torch.float32)


def buffer_keys(ev: EventTensors, sensor_size: tuple[int, int]) -> Tensor:
    """Buffer id of every event: ``block * H * W + y * W + x`` with block 0 for p > 0.

    Shapes:
        -> (N,) int64
    """
    h, w = sensor_size
    block = (ev.p <= 0).to(torch.int64)
    return block * (h * w) + ev.y.to(torch.int64) * w + ev.x.to(torch.int64)


def _sample_times(sample_time, device) -> tuple[Tensor, bool]:
    """Sample times as a float64 (T,) tensor, and whether a single time was given."""
    if isinstance(sample_time, Tensor):
        sample_time = sample_time.detach().cpu().numpy()
    arr = np.asarray(sample_time, dtype=np.float64)
    if arr.size and not np.isfinite(arr).all():
        raise ValueError(f"sample times must be finite, got {sample_time}")
    return torch.from_numpy(arr.reshape(-1).copy()).to(device), arr.ndim == 0


def tore_volume(
    events,
    sample_time,
    sensor_size: Sequence[int],
    k: int = DEFAULT_K,
    min_dt: float = MIN_DT,
    max_dt: float = MAX_DT,
    device=None,
) -> Tensor:
    """TORE volume(s) of an event array at one or many sample times.

    Args:
        events: structured array of :mod:`evpose.io` (fields t, x, y, p), in any order;
            or :class:`EventTensors`.
        sample_time: one time (us) -> (2k, H, W); a sequence of T times -> (T, 2k, H, W),
            computed from one sort of the events. Times may be fractional.
        sensor_size: (H, W), e.g. ``evpose.types.DHP19_SENSOR_SIZE``.
        k: events kept per pixel and polarity (default 4).
        min_dt: ages below it read 0 (default 150 us).
        max_dt: ages from it on read the upper bound (default 5e6 us).
        device: where to compute and return (default: CPU, or the tensors' device).

    Returns:
        float32 tensor; channels 0..k-1 positive events (most recent first), k..2k-1 the
        others; only events strictly before the sample time count; empty slots hold
        :func:`tore_upper_bound`.

    Shapes:
        events: (N,) -> (2k, H, W) or (T, 2k, H, W)
    """
    if device is None or torch.device(device).type == "cpu":
        vol = _one_time_recorded(events, sample_time, sensor_size, k, min_dt, max_dt)
        if vol is not None:
            return vol
    return tore_volume_tensors(EventTensors.from_events(events, device), sample_time, sensor_size, k, min_dt, max_dt)


def _one_time_recorded(events, sample_time, sensor_size, k, min_dt, max_dt) -> Tensor | None:
    """The common case, fast: one volume of a structured array of time-ordered events
    inside the sensor, read in place (no copy of the columns); None for anything else
    (the general path then computes it, or names what is wrong)."""
    cols = recorded_columns(events, sample_time, sensor_size, k, min_dt, max_dt)
    if cols is None:
        return None
    (t, x, y, p, ts), (h, w) = cols, check_sensor_size(sensor_size)
    k, min_dt, max_dt = check_tore_params(k, min_dt, max_dt)
    if not len(t):
        return torch.full((2 * k, h, w), tore_upper_bound(min_dt, max_dt), dtype=torch.float32)
    out = torch.empty((2 * k, h, w), dtype=torch.float32)
    _fill_one_time_ordered(out.numpy().reshape(-1), t, x, y, p, ts, (h, w), k, min_dt, max_dt, fill=True)
    return out


def recorded_columns(events, sample_time, sensor_size, k, min_dt, max_dt):
    """The columns ``(t, x, y, p, ts)`` of a structured array of time-ordered events inside
    the sensor, read in place, and its one sample time as a float; None for anything else
    (another form of events, several sample times, events out of order or outside the
    sensor: the general path computes those, or names what is wrong). Raises on bad
    parameters.

    Shapes:
        events: (N,) -> t, x, y, p: (N,) views of its fields
    """
    if not (NUMPY_ON_CPU and isinstance(events, np.ndarray) and events.ndim == 1 and events.dtype.names):
        return None
    if not all(f in events.dtype.names and events.dtype[f].kind in "iu" for f in ("t", "x", "y", "p")):
        return None
    ts = np.asarray(sample_time.detach().cpu().numpy() if isinstance(sample_time, Tensor) else sample_time)
    if ts.ndim != 0 or ts.dtype.kind not in "iuf" or not np.isfinite(ts):
        return None
    check_tore_params(k, min_dt, max_dt)
    h, w = check_sensor_size(sensor_size)
    t, x, y, p = (events[f] for f in ("t", "x", "y", "p"))
    bad, ordered = scan_events(t, x, y, w, h) if len(events) else (-1, True)
    if bad >= 0 or not ordered:
        return None
    return t, x, y, p, float(ts)


def tore_volume_tensors(
    events: EventTensors,
    sample_time,
    sensor_size: Sequence[int],
    k: int = DEFAULT_K,
    min_dt: float = MIN_DT,
    max_dt: float = MAX_DT,
) -> Tensor:
    """TORE volume(s) of device-resident events (CPU or CUDA; output on their device).

    Args:
        events: event columns (:class:`EventTensors`), in any order.
        sample_time: one time (us) -> (2k, H, W), or a sequence of T times ->
            (T, 2k, H, W), all from one sort. Times may be fractional.
        sensor_size: (H, W).
        k: events kept per pixel and polarity (default 4).
        min_dt: ages below it read 0 (default 150 us).
        max_dt: ages from it on read the upper bound (default 5 s).

    Shapes:
        events: (N,) columns -> (2k, H, W) or (T, 2k, H, W) float32
    """
    k, min_dt, max_dt = check_tore_params(k, min_dt, max_dt)
    h, w = check_sensor_size(sensor_size)
    check_events(events, (h, w))
    device = events.device
    times, scalar = _sample_times(sample_time, device)
    num_t = times.numel()
    upper = tore_upper_bound(min_dt, max_dt)
    hw = h * w
    out = torch.full((num_t, 2 * k, hw), upper, dtype=torch.float32, device=device)
    if len(events) and num_t:
        if on_numpy(events.t):  # numpy: several times less overhead per operation
            cols = (c.numpy() for c in (events.t, events.x, events.y, events.p))
            _fill_volumes_numpy(out.numpy(), *cols, times.numpy(), (h, w), k, min_dt, max_dt)
        else:
            _fill_volumes(out, events, times, (h, w), k, min_dt, max_dt)
    out = out.view(num_t, 2 * k, h, w)
    return out[0] if scalar else out


def _fill_volumes(out: Tensor, ev: EventTensors, times: Tensor, sensor_size, k, min_dt, max_dt) -> None:
    h, w = sensor_size
    hw = h * w
    device = ev.device
    t = ev.t.to(torch.int64)
    # only events before the last sample time matter, and of those only the ones younger
    # than max_dt at the first sample time: older ones read the upper bound, as empty slots
    t_hi = int(math.ceil(float(times.max())))  # t < ts  <=>  t < ceil(ts) for integer t
    t_lo = int(math.floor(float(times.min()) - max_dt))
    keep = (t < t_hi) & (t > t_lo)
    idx = torch.nonzero(keep).flatten() if not bool(keep.all()) else None
    key = buffer_keys(ev, sensor_size)
    if idx is not None:
        t, key = t[idx], key[idx]
    if t.numel() == 0:
        return
    t0 = int(t.min())
    span = max(int(t.max()) - t0, t_hi - t0, 0) + 1
    tbits = span.bit_length()
    if 2 * hw >= 1 << (62 - tbits):
        raise ValueError(f"events span {span} us: too long to sort with {2 * hw} buffers; split the stream")
    # one sort by (buffer, time): each buffer's events are a run, oldest first
    s = sort_values((key << tbits) | (t - t0))
    skey = s >> tbits
    st = (s & ((1 << tbits) - 1)) + t0
    new = torch.ones(s.numel(), dtype=torch.bool, device=device)
    new[1:] = skey[1:] != skey[:-1]
    first = torch.nonzero(new).flatten()  # (G,) first position of each buffer
    buf = skey[first]  # (G,) buffer ids
    block = buf // hw
    pixel = buf - block * hw
    num_g = buf.numel()
    flat = out.view(times.numel(), -1)
    step = max(1, TIMES_BY_BUFFERS // num_g)
    for a in range(0, times.numel(), step):
        _fill_times(flat[a : a + step], times[a : a + step], s, st, first, buf, block, pixel, tbits, t0, hw, k, min_dt, max_dt)


def _fill_volumes_numpy(out, t, x, y, p, times, sensor_size, k, min_dt, max_dt) -> None:
    """The CPU twin of :func:`_fill_volumes` (same steps, numpy arrays, few passes and
    allocations: on large windows the cost is memory traffic)."""
    h, w = sensor_size
    hw = h * w
    t_hi = math.ceil(float(times.max()))
    t_lo = math.floor(float(times.min()) - max_dt)
    if t.size > 1 and bool((t[1:] >= t[:-1]).all()):
        # time-ordered events (as recorded): the kept ones are a slice, and a stable sort
        # of the buffer ids alone keeps each buffer's events in time order
        a, b = np.searchsorted(t, [t_lo + 1, t_hi])
        t, x, y, p = t[a:b], x[a:b], y[a:b], p[a:b]
        if t.size == 0:
            return
        if times.size == 1:
            _fill_one_time_ordered(out.reshape(-1), t, x, y, p, float(times[0]), sensor_size, k, min_dt, max_dt)
            return
    if t.size and not (int(t.min()) > t_lo and int(t.max()) < t_hi):
        keep = np.flatnonzero((t < t_hi) & (t > t_lo))
        t, x, y, p = t[keep], x[keep], y[keep], p[keep]
    if t.size == 0:
        return
    t0 = int(t.min())
    span = max(int(t.max()) - t0, t_hi - t0, 0) + 1
    tbits = span.bit_length()
    if 2 * hw >= 1 << (62 - tbits):
        raise ValueError(f"events span {span} us: too long to sort with {2 * hw} buffers; split the stream")
    # (buffer << tbits) + (t - t0), built in place; one sort makes each buffer a run
    s = y.astype(np.int64)
    s *= w
    s += x
    s += (p <= 0) * hw
    s <<= tbits
    s += t
    s -= t0
    s.sort()
    skey = s >> tbits
    new = np.ones(s.size, dtype=bool)
    np.not_equal(skey[1:], skey[:-1], out=new[1:])
    first = np.flatnonzero(new)
    buf = skey[first]
    block = buf // hw
    pixel = buf - block * hw
    num_g = buf.size
    flat = out.reshape(times.size, -1)
    upper = tore_upper_bound(min_dt, max_dt)
    step = max(1, TIMES_BY_BUFFERS // num_g)
    for a in range(0, times.size, step):
        tt = times[a : a + step]
        if times.size == 1:  # every kept event is before the one sample time: runs end at the next
            end = np.append(first[1:], s.size)
        else:
            ceil_t = np.clip(np.ceil(tt).astype(np.int64) - t0, 0, (1 << tbits) - 1)
            end = np.searchsorted(s, ((buf[None, :] << tbits) + ceil_t[:, None]).ravel())  # (T * G,)
        pos = end[None, :] - 1 - np.arange(k)[:, None]  # (k, T * G)
        valid = pos >= np.tile(first, tt.size)[None, :]
        sel = np.flatnonzero(valid)
        if sel.size == 0:
            continue
        j, tg = np.divmod(sel, tt.size * num_g)
        ti = tg // num_g
        g = tg - ti * num_g
        prev = (s[pos.ravel()[sel]] & ((1 << tbits) - 1)) + t0
        dt = np.minimum(tt[ti] - prev, max_dt)
        v = np.clip(np.log1p(dt) - math.log1p(min_dt), 0.0, upper)
        index = ((ti * (2 * k) + block[g] * k + j) * hw) + pixel[g]
        flat[a : a + step].reshape(-1)[index] = v


def _fill_one_time_ordered(flat, t, x, y, p, ts, sensor_size, k, min_dt, max_dt, fill: bool = False) -> None:
    """One volume from time-ordered events, all in ``(ts - max_dt, ts)``: only the buffers
    that events touch are computed (the rest of ``flat`` holds the empty value), and
    written channel by channel
    (:func:`~evpose.representations.tore_kernels.write_slots`).

    Args:
        fill: ``flat`` is uninitialised: fill it with the empty value too (else it is
            filled already).

    Shapes:
        flat: (2k * H * W,) float32; t, x, y, p: (N,)
    """
    h, w = sensor_size
    index, v = ordered_slots(t, x, y, p, ts, sensor_size, k, min_dt, max_dt)
    write_slots(flat, flat.dtype.type(tore_upper_bound(min_dt, max_dt)), index, v, h * w, fill)


def ordered_slots(t, x, y, p, ts, sensor_size, k, min_dt, max_dt) -> tuple[np.ndarray, np.ndarray]:
    """The filled slots of one volume of time-ordered events: each slot's flat position in
    the (2k, H, W) volume and its value.

    One compiled pass from the last event back finds every buffer's ``k`` most recent
    events before ``ts`` (:func:`~evpose.representations.tore_kernels.latest_slots`);
    their values are computed here, with numpy in float64, as on the vectorised path.

    Shapes:
        t, x, y, p: (N,) -> index: (M,) int64, values: (M,) float64, M <= N
    """
    h, w = sensor_size
    index, event = latest_slots(t, x, y, p, math.floor(ts - max_dt), math.ceil(ts), w, h * w, k)
    age = ts - t[event]
    np.minimum(age, max_dt, out=age)
    v = np.log1p(age)
    v -= math.log1p(min_dt)
    np.maximum(v, 0.0, out=v)
    np.minimum(v, tore_upper_bound(min_dt, max_dt), out=v)
    return index, v


#: Sample times x buffers handled together (bounds the working memory).
TIMES_BY_BUFFERS = 1 << 22


def _fill_times(flat, times, s, st, first, buf, block, pixel, tbits, t0, hw, k, min_dt, max_dt) -> None:
    device = s.device
    num_t, num_g = times.numel(), buf.numel()
    # position just after each buffer's last event older than each sample time
    ceil_t = torch.ceil(times).to(torch.int64) - t0  # (T,)
    query = (buf[None, :] << tbits) + ceil_t.clamp(0, (1 << tbits) - 1)[:, None]
    end = torch.searchsorted(s, query.reshape(-1))  # (T * G,)
    base = ((torch.arange(num_t, device=device)[:, None] * (2 * k) + block[None] * k) * hw + pixel[None]).reshape(-1)
    # slot j of a buffer holds its j-th most recent event: position end - 1 - j, if the
    # buffer has one there
    slot = torch.arange(k, device=device)[:, None]
    pos = end[None, :] - 1 - slot  # (k, T * G)
    valid = pos >= first.repeat(num_t)[None, :]
    prev = st.index_select(0, pos.clamp_min(0).reshape(-1)).view(k, -1).to(torch.float64)
    ti = torch.arange(num_t, device=device).repeat_interleave(num_g)
    values = tore_values(times.index_select(0, ti)[None, :] - prev, min_dt, max_dt)
    upper = tore_upper_bound(min_dt, max_dt)
    index = base[None, :] + slot * hw  # (k, T * G)
    flat.reshape(-1)[index.reshape(-1)] = torch.where(valid, values, upper).reshape(-1)
