"""Cutting a camera's event stream into windows (constant count or constant duration)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..io import EventRecording


class Window(NamedTuple):
    """A window of one camera's stream: events ``i0 <= i < i1``, times ``[t_start, t_end)`` us.

    ``group`` numbers the synchronised window (:func:`~evpose.data.synced_count_windows`)
    this camera's window belongs to, 0, 1, ... within its recording; the windows of every
    camera of one synchronised window share it (and their time span). -1: a window of one
    camera on its own clock.
    ``pose0, pose1``: the pose samples (0-based, both included) whose NaN-mean is the
    window's label under DHP19's rule (``label_rule="dhp19"``, see
    :func:`~evpose.data.dhp19_label_samples`); -1 where not assigned.
    """

    camera: str
    i0: int
    i1: int
    t_start: int
    t_end: int
    group: int = -1
    pose0: int = -1
    pose1: int = -1

    @property
    def num_events(self) -> int:
        return self.i1 - self.i0

    @property
    def duration(self) -> int:
        return self.t_end - self.t_start


def count_ranges(n: int, size: int, stride: int, drop_last: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Start and end ranks of windows of ``size`` consecutive items out of ``n``, one every
    ``stride``; with ``drop_last`` a final window shorter than ``size`` is left out.

    Shapes:
        returns two (W,) int64 arrays, ``ends - starts <= size``.
    """
    starts = np.arange(0, n, stride, dtype=np.int64)
    ends = np.minimum(starts + size, n)
    if drop_last:
        keep = ends - starts == size
        starts, ends = starts[keep], ends[keep]
    return starts, ends


def constant_count_windows(
    rec: EventRecording,
    camera: str,
    num_events: int = 7500,
    stride: int | None = None,
    drop_last: bool = True,
) -> list[Window]:
    """Windows of ``num_events`` consecutive events (DHP19 uses 7500 per camera).

    Window ``k`` holds events ``[k * stride, k * stride + num_events)``; its time span
    runs from its first event's timestamp to one microsecond after its last, so spans
    of neighbouring windows touch without overlapping when ``stride == num_events``.

    Args:
        rec: an open recording.
        camera: camera name.
        num_events: events per window (> 0).
        stride: events between window starts (default ``num_events``: no overlap).
        drop_last: drop the final window when it has fewer than ``num_events`` events
            (default); otherwise keep it shorter.
    """
    if num_events <= 0:
        raise ValueError(f"num_events must be positive, got {num_events}")
    stride = num_events if stride is None else stride
    if stride <= 0:
        raise ValueError(f"stride must be positive, got {stride}")
    starts, ends = count_ranges(rec.num_events(camera), num_events, stride, drop_last)
    if starts.size == 0:
        return []
    t = rec.timestamps_at(camera, np.concatenate([starts, ends - 1]))
    t0, t1 = t[: len(starts)], t[len(starts) :] + 1
    return [Window(camera, int(a), int(b), int(ta), int(tb)) for a, b, ta, tb in zip(starts, ends, t0, t1)]


def constant_duration_windows(
    rec: EventRecording,
    camera: str,
    duration_us: int = 50_000,
    stride_us: int | None = None,
    t_start: int | None = None,
    t_end: int | None = None,
    drop_last: bool = True,
) -> list[Window]:
    """Windows of fixed duration ``[t0 + k * stride, t0 + k * stride + duration)``.

    Empty windows are kept (``i0 == i1``); filter on ``num_events`` if needed.

    Args:
        rec: an open recording.
        camera: camera name.
        duration_us: window length in microseconds (> 0).
        stride_us: time between window starts (default ``duration_us``).
        t_start, t_end: range to cover (default: the camera's first event to just after
            its last event).
        drop_last: drop a final window that would end after ``t_end``.
    """
    if duration_us <= 0:
        raise ValueError(f"duration_us must be positive, got {duration_us}")
    stride_us = duration_us if stride_us is None else stride_us
    if stride_us <= 0:
        raise ValueError(f"stride_us must be positive, got {stride_us}")
    first, last = rec.time_range(camera)
    if rec.num_events(camera) == 0 and (t_start is None or t_end is None):
        return []
    t_start = first if t_start is None else int(t_start)
    t_end = last + 1 if t_end is None else int(t_end)
    starts = np.arange(t_start, t_end, stride_us, dtype=np.int64)
    ends = starts + duration_us
    if drop_last:
        keep = ends <= t_end
        starts, ends = starts[keep], ends[keep]
    out = []
    for a, b in zip(starts, ends):
        i0, i1 = rec.index_range(camera, int(a), int(b))
        out.append(Window(camera, i0, i1, int(a), int(b)))
    return out


def window_history(rec: EventRecording, window: Window, history_us: int) -> np.ndarray | None:
    """The TORE history of a window: its camera's events of ``[t_start - history_us, t_start)``
    before its first event (what :class:`~evpose.data.EventWindowDataset` gives training
    windows and :meth:`evpose.PoseEstimator.predict` takes as ``history``); None for 0.

    Shapes:
        -> (H,) structured events, time-ordered
    """
    if not history_us:
        return None
    h0 = rec.index_of_time(window.camera, window.t_start - int(history_us))
    return rec.events_slice(window.camera, h0, window.i0)
