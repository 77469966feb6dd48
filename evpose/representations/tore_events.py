"""TORE at events: every event's own pixel history, the node feature of event graphs.

For an event at pixel (x, y) and time t, the 2k-vector of the TORE volume sampled at
(x, y) at time t: the k most recent positive and k most recent other events of that
pixel strictly before t (the event itself and any event at the same instant are
excluded, by the TORE rule). Events before the window (``history``, or the state of a
streaming :class:`~evpose.representations.ToreBuilder`) count as well.

Time-ordered events on the CPU (as recorded) take one compiled pass in time order
(:func:`~evpose.representations.tore_kernels.earlier_times`). Otherwise one stable sort
of history + window by (pixel, time) puts each pixel's events in time order; running
counts of positive and negative events then index every event's predecessors directly.
Both give the same values, bit for bit.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from .events import (
    EventTensors,
    argsort_stable,
    check_events,
    check_sensor_size,
    check_tore_params,
    concat_events,
    exclusive_cumsum,
    on_numpy,
    run_starts,
)
from .tore import DEFAULT_K, MAX_DT, MIN_DT, tore_upper_bound, tore_values
from .tore_builder import ToreBuilder
from .tore_kernels import EMPTY, earlier_times


def tore_at_events(
    events,
    sensor_size: Sequence[int],
    k: int = DEFAULT_K,
    min_dt: float = MIN_DT,
    max_dt: float = MAX_DT,
    history=None,
    device=None,
    index=None,
) -> Tensor:
    """The TORE vector of every event at its own pixel and timestamp.

    Args:
        events: the window: structured event array (fields t, x, y, p) or
            :class:`EventTensors`, in any order.
        sensor_size: (H, W).
        k: events per pixel and polarity (default 4).
        min_dt: ages below it read 0 (default 150 us).
        max_dt: ages from it on read the upper bound (default 5e6 us).
        history: events before the window (same forms), or a
            :class:`~evpose.representations.ToreBuilder` whose state is the history;
            default none (the window's own earlier events only).
        device: where to compute (default: CPU, or the tensors' device).
        index: only these events' vectors, in this order (distinct positions into the
            window; e.g. a graph's subsampled nodes): ``tore_at_events(...)[index]``, for
            the price of the sort alone (default None: every event).

    Returns:
        float32 (N, 2k) (or (len(index), 2k)): columns 0..k-1 the pixel's positive events, most recent first,
        then k..2k-1 its other events; values as :func:`~evpose.representations.tore_volume`
        (0 = just now, :func:`tore_upper_bound` = none).

    Shapes:
        events: (N,), index: (M,) -> (N, 2k) or (M, 2k)
    """
    k, min_dt, max_dt = check_tore_params(k, min_dt, max_dt)
    hw = check_sensor_size(sensor_size)
    win = EventTensors.from_events(events, device)
    check_events(win, hw)
    device = win.device
    hist = _history(history, hw, device)
    n, m = len(win), len(hist) if hist is not None else 0
    slot_of = None
    if index is not None:
        index = torch.as_tensor(index, dtype=torch.int64, device=device).reshape(-1)
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= n):
            raise ValueError(f"index: positions must lie in [0, {n}), got {int(index.min())}..{int(index.max())}")
        slot_of = torch.full((n,), -1, dtype=torch.int64, device=device)
        slot_of[index] = torch.arange(index.numel(), device=device)
        if int((slot_of >= 0).sum()) != index.numel():
            raise ValueError("index: positions must be distinct")
    rows = n if index is None else index.numel()
    out = torch.full((rows, 2 * k), tore_upper_bound(min_dt, max_dt), dtype=torch.float32, device=device)
    if rows == 0:
        return out
    ev = concat_events([hist, win]) if m else concat_events([win])
    h, w = hw
    if on_numpy(ev.t):
        t = ev.t.numpy()
        if t.size < 2 or bool((t[1:] >= t[:-1]).all()):  # time-ordered (as recorded): one compiled pass
            _features_in_order(out, ev, m, slot_of, w, k, min_dt, max_dt)
            return out
    t0 = int(ev.t.min())
    tbits = (int(ev.t.max()) - t0 + 1).bit_length()
    if h * w >= 1 << (62 - tbits):
        raise ValueError(f"events span {int(ev.t.max()) - t0} us: too long to sort by pixel; split the stream")
    comp = ((ev.y * w + ev.x) << tbits) | (ev.t - t0)
    order = argsort_stable(comp)
    cs = comp.index_select(0, order)
    del comp
    ts = ev.t.index_select(0, order)
    positive = (ev.p > 0).index_select(0, order)
    del ev
    same_instant = run_starts(cs)  # first event of the same pixel and timestamp
    same_pixel = run_starts(cs >> tbits)  # first event of the pixel
    del cs
    # events of the window, in sorted order, and their row of the output
    at = torch.nonzero(order >= m).flatten()
    row = order.index_select(0, at) - m
    del order
    if slot_of is not None:  # only the asked events, each to its slot
        row = slot_of.index_select(0, row)
        asked = torch.nonzero(row >= 0).flatten()
        at, row = at.index_select(0, asked), row.index_select(0, asked)
    first_now = same_instant.index_select(0, at)
    first_px = same_pixel.index_select(0, at)
    del same_instant, same_pixel
    t_now = ts.index_select(0, at)
    count_pos = exclusive_cumsum(positive.to(torch.int64))  # positive events before a position
    times = [ts.index_select(0, torch.nonzero(mask).flatten()) for mask in (positive, ~positive)]
    del ts, positive
    feats = torch.empty((at.numel(), 2 * k), dtype=torch.float32, device=device)
    for a in range(0, at.numel(), CHUNK):  # bounds the (U, k) temporaries
        b = min(a + CHUNK, at.numel())
        _features(feats[a:b], times, count_pos, first_now[a:b], first_px[a:b], t_now[a:b], k, min_dt, max_dt)
    out.index_copy_(0, row, feats)
    return out


#: Window events handled together in the last step.
CHUNK = 1 << 18


def _features(feats, times, count_pos, first_now, first_px, t_now, k, min_dt, max_dt) -> None:
    """The 2k values of a run of window events (sorted order) into ``feats``."""
    upper = tore_upper_bound(min_dt, max_dt)
    slot = torch.arange(k, device=feats.device)[None, :]
    for block in (0, 1):
        cp_now, cp_px = count_pos.index_select(0, first_now), count_pos.index_select(0, first_px)
        # this polarity's events before the pixel's first and before the same instant
        before, lowest = (cp_now, cp_px) if block == 0 else (first_now - cp_now, first_px - cp_px)
        if times[block].numel() == 0:
            feats[:, block * k : (block + 1) * k] = upper
            continue
        # the j-th most recent earlier event of this pixel and polarity is number before-1-j
        g = before[:, None] - 1 - slot  # (U, k)
        valid = g >= lowest[:, None]
        prev = times[block].index_select(0, g.clamp_min_(0).reshape(-1)).view(-1, k)
        values = tore_values(t_now[:, None] - prev, min_dt, max_dt)
        feats[:, block * k : (block + 1) * k] = torch.where(valid, values, upper)


def _features_in_order(out, ev: EventTensors, m: int, slot_of, width, k, min_dt, max_dt) -> None:
    """The rows of ``out`` from time-ordered CPU events (history: the first ``m``), by
    :func:`~evpose.representations.tore_kernels.earlier_times`; values as :func:`_features`."""
    n = len(ev) - m
    rows = np.full(len(ev), -1, dtype=np.int64)
    rows[m:] = np.arange(n) if slot_of is None else slot_of.numpy()
    prev = torch.from_numpy(earlier_times(*(c.numpy() for c in ev), rows, width, k))
    asked = np.flatnonzero(rows >= 0)
    t_now = np.empty(prev.shape[0], dtype=np.int64)
    t_now[rows[asked]] = ev.t.numpy()[asked]  # each row's own event time
    t_now = torch.from_numpy(t_now)[:, None]
    valid = prev != EMPTY
    values = tore_values(t_now - torch.where(valid, prev, t_now), min_dt, max_dt)
    out.copy_(torch.where(valid, values, tore_upper_bound(min_dt, max_dt)))


def _history(history, sensor_size, device) -> EventTensors | None:
    if history is None:
        return None
    if isinstance(history, ToreBuilder):
        if tuple(history.sensor_size) != tuple(sensor_size):
            raise ValueError(f"history builder has sensor_size {history.sensor_size}, events {sensor_size}")
        hist = history.history_events()
        return EventTensors(*(c.to(device) for c in hist))
    hist = EventTensors.from_events(history, device)
    check_events(hist, sensor_size, "history")
    return hist
