"""TORE volumes of window after window, written into one reused volume.

A fresh (2k, H, W) volume costs a write of all of it (2.9 MB at k=4 on DHP19's 260x346
sensor), often into memory the process has to map or fetch first: at 7.5k events that is
most of :func:`~evpose.representations.tore_volume`'s time. A writer keeps one volume and
remembers which slots hold a value; the next window's volume is made by giving those slots
the empty value back and writing the new window's slots, so only the pixels that events
touch are written. Every volume is the one :func:`~evpose.representations.tore_volume`
returns for the same events and sample time, bit for bit, whatever came before.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from .events import check_sensor_size, check_tore_params
from .tore import DEFAULT_K, MAX_DT, MIN_DT, ordered_slots, recorded_columns, tore_upper_bound, tore_volume
from .tore_kernels import rewrite_slots


class ToreVolumeWriter:
    """One TORE volume per call, all written into the same tensor (:attr:`volume`).

    Calls take what :func:`~evpose.representations.tore_volume` takes at one sample time
    and return :attr:`volume`, overwritten by the next call (``.clone()`` what must be
    kept). Time-ordered structured arrays inside the sensor (recorded windows) take the
    fast path, which writes only the slots of the previous and the new window; anything
    else is computed by :func:`~evpose.representations.tore_volume` (which names what is
    wrong with bad input) and copied in. Windows need not follow each other in time.

    Args:
        sensor_size: (H, W).
        k: events kept per pixel and polarity (default 4).
        min_dt: ages below it read 0 (default 150 us).
        max_dt: ages from it on read the upper bound (default 5e6 us).

    Shapes:
        volume: (2k, H, W) float32, on the CPU
    """

    def __init__(self, sensor_size: Sequence[int], k: int = DEFAULT_K, min_dt: float = MIN_DT, max_dt: float = MAX_DT):
        self.k, self.min_dt, self.max_dt = check_tore_params(k, min_dt, max_dt)
        self.sensor_size = check_sensor_size(sensor_size)
        h, w = self.sensor_size
        self.empty = tore_upper_bound(self.min_dt, self.max_dt)
        self.volume = torch.full((2 * self.k, h, w), self.empty, dtype=torch.float32)
        self._flat = self.volume.numpy().reshape(-1)
        # flat positions holding a value other than the empty one; None: any may
        self._written: np.ndarray | None = np.empty(0, dtype=np.int64)

    def __call__(self, events, sample_time) -> Tensor:
        """The TORE volume of ``events`` at ``sample_time`` (one time), in :attr:`volume`.

        Args:
            events: structured event array (fields t, x, y, p) or
                :class:`~evpose.representations.EventTensors`, in any order.
            sample_time: one time (us); only events strictly before it count.

        Shapes:
            events: (N,) -> (2k, H, W) float32, the writer's :attr:`volume`
        """
        params = (self.sensor_size, self.k, self.min_dt, self.max_dt)
        cols = recorded_columns(events, sample_time, *params)
        if cols is None:
            vol = tore_volume(events, sample_time, *params)
            if vol.dim() != 3:
                raise ValueError(f"a ToreVolumeWriter takes one sample time per call, got {vol.shape[0]}")
            self.volume.copy_(vol)
            self._written = None
            return self.volume
        empty = self._flat.dtype.type(self.empty)
        if len(cols[0]):
            index, values = ordered_slots(*cols, *params)
        else:
            index, values = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        if self._written is None:
            self._flat[:] = empty
            self._written = np.empty(0, dtype=np.int64)
        rewrite_slots(self._flat, empty, self._written, index, values)
        self._written = index
        return self.volume
