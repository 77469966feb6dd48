"""Cutting a live event stream into overlapping windows that end at fixed output times.

A camera (or a recording read piece by piece) delivers events in chunks of any size.
:class:`StreamWindows` keeps the events that later windows still need and, after every
chunk, hands back the windows whose output time the stream has passed: output time
``T_m = origin + round(m * period_us)`` (m = 1, 2, ...), window = the ``num_events`` latest
events before ``T_m`` (constant count, as evpose's training windows) or the events of
``[T_m - duration_us, T_m)`` (constant duration). A window is complete once an event at or
after ``T_m`` has arrived (events come in time order) or the stream has ended. Output
times before the first full window (fewer than ``num_events`` events so far, or a duration
reaching before the first event) give no window.
"""

from __future__ import annotations

from typing import Iterator, NamedTuple

import numpy as np

from ..io import EventRecording


class StreamWindow(NamedTuple):
    """One window of the stream: events ``i0 <= i < i1`` (indices counted from the stream's
    first event) of times ``[t_start, t_end)``, ``t_end`` the output time, and the events of
    ``[t_start - history_us, t_start)`` before it (``history``: the window's TORE history, as
    :class:`~evpose.data.EventWindowDataset` gives training windows).

    Shapes:
        events: (i1 - i0,) structured array (the chunks' dtype), time-ordered; history: (H,)
    """

    index: int
    t_end: int
    t_start: int
    i0: int
    i1: int
    events: np.ndarray
    history: np.ndarray | None = None


class StreamWindows:
    """Windows ending at fixed output times, from event chunks fed in time order.

    Args:
        rate_hz: output times per second of stream time (> 0).
        num_events: constant-count windows of this many events (default 7500), or
        duration_us: constant-duration windows of this many microseconds (give one of the two).
        origin_us: time of output 0 (default: the first event's time); outputs are
            ``origin + round(m * 1e6 / rate_hz)``.
        history_us: also keep and hand out the events of ``[t_start - history_us, t_start)``
            before every window (default 0: none).

    Raises (from :meth:`push`):
        TypeError: a chunk that is not a structured array with integer fields t, x, y, p.
        ValueError: a chunk whose times decrease, or that starts before the previous chunk
            ended (naming the chunk, the index and both times).

    Shapes:
        push(chunk: (n,)) -> windows completed by the chunk
    """

    def __init__(self, rate_hz: float, num_events: int | None = 7500, duration_us: int | None = None,
                 origin_us: int | None = None, history_us: int = 0):
        rate_hz = float(rate_hz)
        if int(history_us) < 0:
            raise ValueError(f"history_us must be >= 0, got {history_us}")
        self.history_us = int(history_us)
        if not rate_hz > 0 or rate_hz == float("inf"):
            raise ValueError(f"rate_hz must be a positive finite rate, got {rate_hz}")
        if duration_us is not None:
            num_events = None
        if (num_events is None) == (duration_us is None):
            raise ValueError("give the window as num_events (constant count) or duration_us (constant duration)")
        if num_events is not None and int(num_events) < 1:
            raise ValueError(f"num_events must be >= 1, got {num_events}")
        if duration_us is not None and int(duration_us) < 1:
            raise ValueError(f"duration_us must be >= 1, got {duration_us}")
        self.period_us = 1e6 / rate_hz
        self.num_events = None if num_events is None else int(num_events)
        self.duration_us = None if duration_us is None else int(duration_us)
        self.origin = None if origin_us is None else int(origin_us)
        self._buf: np.ndarray | None = None  # events still needed, time-ordered
        self._offset = 0  # stream index of the buffer's first event
        self._t_first: int | None = None
        self._next = 1  # next output number
        self.chunks = 0
        self.num_seen = 0
        self.closed = False

    @property
    def t_last(self) -> int | None:
        """Time of the latest event fed (None before any)."""
        return None if self._buf is None or not len(self._buf) else int(self._buf["t"][-1])

    def output_time(self, m: int) -> int:
        """Time of output ``m`` (us)."""
        return self.origin + int(round(m * self.period_us))

    def push(self, chunk: np.ndarray) -> list[StreamWindow]:
        """Add a chunk (a structured event array, time-ordered, continuing the stream);
        returns the windows whose output time the stream has now passed."""
        if self.closed:
            raise ValueError("the stream is closed")
        self.chunks += 1  # chunks are numbered from 0 in the order given, refused ones too
        chunk = self._check(chunk)
        if not len(chunk):
            return []
        if self._buf is None:
            self._buf = chunk
            self._t_first = int(chunk["t"][0])
            if self.origin is None:
                self.origin = self._t_first
        else:
            self._buf = np.concatenate([self._buf, chunk]) if len(self._buf) else chunk
        self.num_seen += len(chunk)
        # events before any time <= t_last have all arrived (the stream is time-ordered)
        return self._emit(int(self._buf["t"][-1]))

    def close(self) -> list[StreamWindow]:
        """End of the stream: the windows of the output times up to just after the last event."""
        if self.closed:
            return []
        self.closed = True
        last = self.t_last
        return [] if last is None else self._emit(last + 1)

    # ------------------------------------------------------------------ internals

    def _check(self, chunk) -> np.ndarray:
        at = self.chunks - 1
        names = getattr(getattr(chunk, "dtype", None), "names", None)
        if not isinstance(chunk, np.ndarray) or names is None:
            raise TypeError(f"chunk {at}: events must be a structured array with fields t, x, y, p "
                            f"(evpose.types.event_dtype), got {type(chunk).__name__}"
                            + (f" of dtype {chunk.dtype}" if isinstance(chunk, np.ndarray) else ""))
        missing = [f for f in ("t", "x", "y", "p") if f not in names]
        if missing:
            raise TypeError(f"chunk {at}: events lack field(s) {missing}; fields: {list(names)}")
        for f in ("t", "x", "y", "p"):
            if chunk.dtype[f].kind not in "iu":
                raise TypeError(f"chunk {at}: events field {f!r} must be integer, got {chunk.dtype[f]}")
        if chunk.ndim != 1:
            raise ValueError(f"chunk {at}: events must be one-dimensional, got shape {chunk.shape}")
        if self._buf is not None and len(self._buf) and chunk.dtype != self._buf.dtype:
            raise TypeError(f"chunk {at}: dtype {chunk.dtype} differs from the stream's {self._buf.dtype}")
        t = chunk["t"]
        if len(t) > 1 and np.any(t[1:] < t[:-1]):
            i = int(np.flatnonzero(t[1:] < t[:-1])[0]) + 1
            raise ValueError(f"chunk {at}: event times go back at index {i} ({int(t[i])} us after "
                             f"{int(t[i - 1])} us); feed events in time order")
        last = self.t_last
        if len(t) and last is not None and int(t[0]) < last:
            raise ValueError(f"chunk {at} goes back in time: it starts at {int(t[0])} us, "
                             f"before the previous chunk's last event ({last} us)")
        return chunk

    def _emit(self, known: int) -> list[StreamWindow]:
        """Windows of the output times ``T <= known`` (every event before ``known`` is in)."""
        out = []
        buf, t = self._buf, self._buf["t"]
        while True:
            T = self.output_time(self._next)
            if T > known:
                break
            i1 = int(np.searchsorted(t, T, side="left"))
            if self.num_events is not None:
                i0 = i1 - self.num_events
                full = i0 >= 0  # the buffer keeps every event a later window needs
            else:
                i0 = int(np.searchsorted(t, T - self.duration_us, side="left"))
                full = T - self.duration_us >= self._t_first
            if full:
                ev = buf[i0:i1]
                t_start = int(ev["t"][0]) if self.num_events is not None and len(ev) else T - (self.duration_us or 0)
                history = None
                if self.history_us:
                    history = buf[int(np.searchsorted(t, t_start - self.history_us, side="left")) : i0]
                out.append(StreamWindow(self._next, T, t_start, i0 + self._offset, i1 + self._offset, ev, history))
            self._next += 1
        self._trim()
        return out

    def _trim(self) -> None:
        """Drop the events no later window can hold."""
        t = self._buf["t"]
        T = self.output_time(self._next)
        if self.num_events is not None:
            drop = max(int(np.searchsorted(t, T, side="left")) - self.num_events, 0)
            start = int(t[drop]) if drop < len(t) else None  # the earliest start a later window can have
        else:
            start = T - self.duration_us
            drop = int(np.searchsorted(t, start, side="left"))
        if self.history_us and start is not None:  # ... and that window's history
            drop = min(drop, int(np.searchsorted(t, start - self.history_us, side="left")))
        if drop:
            self._buf = self._buf[drop:]
            self._offset += drop


def recording_chunks(rec: EventRecording, camera: str, chunk_us: int = 10_000) -> Iterator[np.ndarray]:
    """A camera's events of a recording as a stream: the chunks of ``chunk_us`` (default 10 ms,
    the packets of a camera driver) one after the other, empty ones left out.

    Shapes:
        yields (n,) structured arrays, time-ordered, together every event of the camera
    """
    if int(chunk_us) < 1:
        raise ValueError(f"chunk_us must be >= 1, got {chunk_us}")
    n = rec.num_events(camera)
    if n == 0:
        return
    t0, t1 = rec.time_range(camera)
    i = 0
    for t in range(int(t0) + int(chunk_us), int(t1) + int(chunk_us) + 1, int(chunk_us)):
        j = n if t > t1 else rec.index_of_time(camera, t)
        if j > i:
            yield rec.events_slice(camera, i, j)
            i = j
        if i >= n:
            break
