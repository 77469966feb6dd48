"""Streaming TORE: carry the per-pixel buffers from one sample time to the next.

The builder keeps, for every pixel and polarity, the timestamps of its k most recent
events (an age is ``t_s - t``, so storing times is the same as adding ``t_s' - t_s`` to
every stored age). New events are merged by keeping the true k most recent of the old
buffer and the new events together, never element-wise, so ``sample(t)`` equals
:func:`~evpose.representations.tore_volume` of every event fed so far, at every t.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from .events import EventTensors, check_events, check_sensor_size, check_tore_params, sort_values
from .tore import DEFAULT_K, MAX_DT, MIN_DT, buffer_keys, tore_upper_bound, tore_values

#: Stored time of an empty slot.
EMPTY = torch.iinfo(torch.int64).min


class ToreBuilder:
    """TORE volumes of a stream, updated event batch by event batch.

    Feed events in time order with :meth:`update` (any batch sizes, several batches
    between samples) and read volumes with :meth:`sample` at non-decreasing times.
    Events at or after a sample time wait (pending) until a later sample time passes
    them, so windows can be fed whole and sampled at their end or inside them.

    Args:
        sensor_size: (H, W).
        k: events kept per pixel and polarity (default 4).
        min_dt: ages below it read 0 (default 150 us).
        max_dt: ages from it on read the upper bound (default 5e6 us).
        device: where the buffers live (default CPU).

    Shapes:
        state: (2, k, H, W) int64 timestamps (EMPTY where no event)
    """

    def __init__(
        self,
        sensor_size: Sequence[int],
        k: int = DEFAULT_K,
        min_dt: float = MIN_DT,
        max_dt: float = MAX_DT,
        device=None,
    ):
        self.k, self.min_dt, self.max_dt = check_tore_params(k, min_dt, max_dt)
        self.sensor_size = check_sensor_size(sensor_size)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.reset()

    def reset(self) -> None:
        """Forget every event."""
        h, w = self.sensor_size
        # one row per buffer (block * H * W + pixel), slot 0 the most recent
        self._times = torch.full((2 * h * w, self.k), EMPTY, dtype=torch.int64, device=self.device)
        self._pending_t: list[Tensor] = []
        self._pending_key: list[Tensor] = []
        self._pending_xyp: list[EventTensors] = []
        self.last_sample: float | None = None
        self.num_events = 0

    @property
    def state(self) -> Tensor:
        """(2, k, H, W) int64 timestamps of the merged buffers (EMPTY = no event)."""
        h, w = self.sensor_size
        return self._times.T.reshape(self.k, 2, h, w).transpose(0, 1)

    def update(self, events) -> "ToreBuilder":
        """Add events (structured array or EventTensors), in time order with the stream.

        Raises:
            ValueError: an event lies outside the sensor, or is older than the last
                sample time (the stream went back in time).
        """
        ev = EventTensors.from_events(events, self.device)
        check_events(ev, self.sensor_size)
        if len(ev) == 0:
            return self
        t = ev.t.to(torch.int64)
        if self.last_sample is not None:
            early = t < self.last_sample
            if bool(early.any()):
                i = int(torch.nonzero(early)[0])
                raise ValueError(
                    f"events[{i}].t = {int(t[i])} is before the last sample time {self.last_sample}: "
                    "feed events in time order (or reset())"
                )
        self._pending_t.append(t)
        self._pending_key.append(buffer_keys(ev, self.sensor_size))
        self._pending_xyp.append(ev)
        self.num_events += len(ev)
        return self

    def sample(self, t: float) -> Tensor:
        """The TORE volume at time ``t`` of every event fed so far (strictly before ``t``).

        Args:
            t: sample time (us), not before the previous sample time.

        Shapes:
            -> (2k, H, W) float32
        """
        t = float(t)
        if self.last_sample is not None and t < self.last_sample:
            raise ValueError(f"sample times must not decrease: {t} after {self.last_sample}")
        self._merge_before(t)
        self.last_sample = t
        h, w = self.sensor_size
        times = self._times
        out = torch.full(times.shape, tore_upper_bound(self.min_dt, self.max_dt), dtype=torch.float32, device=self.device)
        full = times != EMPTY
        idx = torch.nonzero(full.reshape(-1)).flatten()
        if idx.numel():
            dt = t - times.reshape(-1).index_select(0, idx).to(torch.float64)
            out.view(-1)[idx] = tore_values(dt, self.min_dt, self.max_dt)
        # rows are (block, pixel), columns slots: to (block, slot, H, W)
        return out.view(2, h * w, self.k).permute(0, 2, 1).reshape(2 * self.k, h, w)

    def history_events(self) -> EventTensors:
        """Every event the builder still knows (its buffers and its pending events), as
        events: enough history for :func:`~evpose.representations.tore_at_events`.

        Shapes:
            -> (M,) columns, M <= 2k * H * W + pending
        """
        h, w = self.sensor_size
        hw = h * w
        full = torch.nonzero((self._times != EMPTY).reshape(-1)).flatten()
        t = self._times.reshape(-1).index_select(0, full)
        buf = torch.div(full, self.k, rounding_mode="floor")
        block = torch.div(buf, hw, rounding_mode="floor")
        pixel = buf - block * hw
        y = torch.div(pixel, w, rounding_mode="floor")
        parts = [EventTensors(t, pixel - y * w, y, 1 - block)]
        parts += [EventTensors(*(c.to(torch.int64) for c in ev)) for ev in self._pending_xyp]
        return EventTensors(*(torch.cat([getattr(p, f) for p in parts]) for f in ("t", "x", "y", "p")))

    # ---------------------------------------------------------------- merging

    def _merge_before(self, t: float) -> None:
        if not self._pending_t:
            return
        pt = torch.cat(self._pending_t)
        pk = torch.cat(self._pending_key)
        pev = [torch.cat([getattr(e, f).to(torch.int64) for e in self._pending_xyp]) for f in ("t", "x", "y", "p")]
        now = pt < t
        if bool(now.all()):
            self._pending_t, self._pending_key, self._pending_xyp = [], [], []
        else:
            later = torch.nonzero(~now).flatten()
            self._pending_t = [pt.index_select(0, later)]
            self._pending_key = [pk.index_select(0, later)]
            self._pending_xyp = [EventTensors(*(c.index_select(0, later) for c in pev))]
            sel = torch.nonzero(now).flatten()
            pt, pk = pt.index_select(0, sel), pk.index_select(0, sel)
        if pt.numel():
            self._merge(pt, pk)

    def _merge(self, t: Tensor, key: Tensor) -> None:
        """Keep, for every buffer touched by the new events, the k most recent of its old
        entries and the new events together."""
        k = self.k
        touched = torch.unique(key)
        old = self._times.index_select(0, touched)  # (U, k)
        full = old != EMPTY
        cand_t = torch.cat([old[full], t])
        cand_key = torch.cat([touched[:, None].expand(-1, k)[full], key])
        t0 = int(cand_t.min())
        tbits = (int(cand_t.max()) - t0 + 1).bit_length()
        s = sort_values((cand_key << tbits) | (cand_t - t0))
        # every touched buffer is a run of s; its last k entries are the k most recent
        end = torch.searchsorted(s, (touched + 1) << tbits)  # (U,) end of each run
        first = torch.searchsorted(s, touched << tbits)
        pos = end[:, None] - 1 - torch.arange(k, device=s.device)[None, :]  # (U, k)
        valid = pos >= first[:, None]
        times = (s.index_select(0, pos.clamp_min(0).reshape(-1)).view(-1, k) & ((1 << tbits) - 1)) + t0
        self._times.index_copy_(0, touched, torch.where(valid, times, EMPTY))
