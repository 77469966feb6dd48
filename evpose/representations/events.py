"""Event columns as tensors: checked conversion from evpose's structured arrays, and the
sorting and run kernels shared by the TORE code and the graph code (:mod:`evpose.graph.ops`).

The TORE functions take events either as the structured array of :mod:`evpose.io`
(fields t, x, y, p) or as a :class:`EventTensors` of device-resident columns.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor


#: Run the CPU side of evpose's tensor kernels through numpy (same memory, same results):
#: torch's CPU kernels for sorting, cumulative sums, cummax and small ops are several
#: times slower. Tests switch it off to run the device (torch) code paths on CPU.
NUMPY_ON_CPU = True


def on_numpy(t: Tensor) -> bool:
    """Whether to compute on ``t`` (a CPU tensor) through numpy."""
    return NUMPY_ON_CPU and t.device.type == "cpu"


class EventTensors(NamedTuple):
    """Event columns on one device: t (us), x (column), y (row), p (> 0: positive).

    Shapes:
        t, x, y, p: (N,) (any integer dtypes; t must be integer microseconds)
    """

    t: Tensor
    x: Tensor
    y: Tensor
    p: Tensor

    @classmethod
    def from_events(cls, events, device=None) -> "EventTensors":
        """Columns of a structured event array (or an EventTensors, moved to ``device``)."""
        if isinstance(events, EventTensors):
            if device is None:
                return events
            return cls(*(c.to(device) for c in events))
        if isinstance(events, dict):
            return cls(*(torch.as_tensor(events[f], device=device) for f in ("t", "x", "y", "p")))
        if not isinstance(events, np.ndarray) or events.dtype.names is None:
            raise TypeError(
                "events must be a structured array with fields t, x, y, p (evpose.types.event_dtype) "
                f"or EventTensors, got {type(events).__name__}"
            )
        missing = [f for f in ("t", "x", "y", "p") if f not in events.dtype.names]
        if missing:
            raise ValueError(f"events lack field(s) {missing}; fields: {list(events.dtype.names)}")
        cols = []
        for f in ("t", "x", "y", "p"):
            col = np.array(events[f], copy=True)  # fields of a structured array are strided
            if col.dtype.kind not in "iu":
                raise ValueError(f"events field {f!r} must be integer, got {col.dtype}")
            # uint16 has no torch counterpart on every version: widen unsigned columns
            if col.dtype.kind == "u":
                col = col.astype(np.int64 if col.dtype.itemsize >= 4 else np.int32)
            cols.append(torch.from_numpy(col).to(device) if device is not None else torch.from_numpy(col))
        return cls(*cols)

    def __len__(self) -> int:
        return self.t.numel()

    @property
    def device(self):
        return self.t.device


def check_sensor_size(sensor_size) -> tuple[int, int]:
    """``(H, W)`` as positive ints, else ValueError."""
    try:
        h, w = (int(v) for v in sensor_size)
    except (TypeError, ValueError):
        raise ValueError(f"sensor_size must be (height, width), got {sensor_size!r}") from None
    if h <= 0 or w <= 0:
        raise ValueError(f"sensor_size must be positive (height, width), got {(h, w)}")
    return h, w


def check_events(ev: EventTensors, sensor_size: tuple[int, int], name: str = "events") -> None:
    """Every event inside the sensor and with integer timestamps, else ValueError naming
    the first offending event and value."""
    h, w = sensor_size
    n = len(ev)
    for col, field in ((ev.t, "t"), (ev.x, "x"), (ev.y, "y"), (ev.p, "p")):
        if col.dim() != 1 or col.numel() != n:
            raise ValueError(f"{name}.{field} must have shape ({n},), got {tuple(col.shape)}")
        if col.is_floating_point() or col.is_complex():
            raise ValueError(f"{name}.{field} must be an integer tensor, got {col.dtype}")
    if n == 0:
        return
    for col, field, size, what in ((ev.x, "x", w, "width"), (ev.y, "y", h, "height")):
        if on_numpy(col):
            arr = col.numpy()
            lo, hi = int(arr.min()), int(arr.max())
        else:
            lo, hi = (int(v) for v in torch.aminmax(col))
        if lo < 0 or hi >= size:
            i = int(torch.nonzero((col < 0) | (col >= size))[0])
            raise ValueError(
                f"{name}[{i}].{field} = {int(col[i])} is outside the sensor ({what} {size}, sensor_size {(h, w)})"
            )


def check_tore_params(k, min_dt, max_dt) -> tuple[int, float, float]:
    if isinstance(k, bool) or int(k) != k or int(k) <= 0:
        raise ValueError(f"TORE depth k must be a positive integer, got {k}")
    min_dt, max_dt = float(min_dt), float(max_dt)
    if not min_dt >= 0:
        raise ValueError(f"min_dt must be >= 0, got {min_dt}")
    if not max_dt > min_dt or max_dt == float("inf"):
        raise ValueError(f"max_dt must be finite and > min_dt ({min_dt}), got {max_dt}")
    return int(k), min_dt, max_dt


def sort_values(keys: Tensor, inplace: bool = False) -> Tensor:
    """Ascending sort of int64 values (no permutation; for keys that are all distinct or
    whose order among equals does not matter). ``inplace`` sorts ``keys`` itself on CPU.

    Shapes:
        keys: (N,) -> (N,)
    """
    if on_numpy(keys):
        if inplace:
            keys.numpy().sort()
            return keys
        return torch.from_numpy(np.sort(keys.numpy()))
    return torch.sort(keys).values


def sort_stable(keys: Tensor) -> tuple[Tensor, Tensor]:
    """Stable ascending sort of non-negative int64 keys (on CPU: the position packed under
    the key and one numpy sort when it fits in 63 bits; else torch's stable sort).

    Returns:
        ``(sorted_keys, perm)`` with ``sorted_keys == keys[perm]``; equal keys keep
        their input order, so the result is the same on every device.

    Shapes:
        keys: (N,) -> (N,), (N,)
    """
    n = keys.numel()
    if on_numpy(keys) and n > 1:
        bits = (n - 1).bit_length()
        if int(keys.min()) >= 0 and int(keys.max()) < (1 << (63 - bits)):
            # pack the position under the key: one plain (SIMD) sort of unique int64
            packed = keys.numpy().astype(np.int64, copy=False) << bits
            packed |= np.arange(n, dtype=np.int64)
            packed.sort()
            return torch.from_numpy(packed >> bits), torch.from_numpy(packed & ((1 << bits) - 1))
    out = torch.sort(keys, stable=True)
    return out.values, out.indices


def argsort_stable(keys: Tensor) -> Tensor:
    """The permutation of :func:`sort_stable`.

    Shapes:
        keys: (N,) -> (N,) int64
    """
    return sort_stable(keys)[1]


def exclusive_cumsum(x: Tensor) -> Tensor:
    """``[0, x0, x0 + x1, ...]`` as int64 (length N + 1).

    Shapes:
        x: (N,) -> (N + 1,)
    """
    out = torch.zeros(x.numel() + 1, dtype=torch.int64, device=x.device)
    if on_numpy(x):
        np.cumsum(x.numpy(), out=out.numpy()[1:])
    else:
        torch.cumsum(x, 0, out=out[1:])
    return out


def run_starts(sorted_keys: Tensor) -> Tensor:
    """For every position of a sorted array, the first position of its run of equal keys.

    Shapes:
        sorted_keys: (N,) -> (N,) int64
    """
    n = sorted_keys.numel()
    if on_numpy(sorted_keys):  # torch.cummax is slow on CPU
        keys = sorted_keys.numpy()
        new = np.ones(n, dtype=bool)
        np.not_equal(keys[1:], keys[:-1], out=new[1:])
        return torch.from_numpy(np.maximum.accumulate(np.where(new, np.arange(n), 0)))
    pos = torch.arange(n, device=sorted_keys.device)
    new = torch.ones(n, dtype=torch.bool, device=sorted_keys.device)
    new[1:] = sorted_keys[1:] != sorted_keys[:-1]
    return torch.cummax(torch.where(new, pos, 0), 0).values


def concat_events(parts: list[EventTensors]) -> EventTensors:
    """Events of several EventTensors one after the other (columns widened to int64)."""
    return EventTensors(*(torch.cat([getattr(p, f).to(torch.int64) for p in parts]) for f in ("t", "x", "y", "p")))
