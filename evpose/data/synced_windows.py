"""Synchronised constant-count windows: counted over several cameras, every camera cut at the same times."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..io import EventRecording
from .windows import Window, count_ranges


def counts_before_ranks(times: Sequence[np.ndarray], ranks: np.ndarray) -> np.ndarray:
    """How many events of each camera come before each rank of the merged stream.

    The merged stream orders the events of all cameras by timestamp, events of equal
    timestamp by camera (the order of ``times``), then by their order in their camera:
    the order of a stable argsort of the concatenated timestamps. Vectorised: one sort of
    the merged timestamps and a few ``searchsorted``; no merged permutation is built.

    Args:
        times: per camera, its non-decreasing timestamps.
        ranks: positions in the merged stream, ``0 <= rank <= total``.

    Shapes:
        times[c]: (N_c,); ranks: (R,) -> (C, R) int64, the columns sum to ``ranks``.
    """
    ranks = np.asarray(ranks, dtype=np.int64)
    merged = np.sort(np.concatenate([np.asarray(t, dtype=np.int64) for t in times]), kind="stable")
    out = np.zeros((len(times), ranks.size), dtype=np.int64)
    if merged.size == 0:
        return out
    T = merged[np.minimum(ranks, merged.size - 1)]  # timestamp of the event at each rank
    remaining = ranks - np.searchsorted(merged, T, side="left")  # events at time T before the rank
    for c, t in enumerate(times):
        lt = np.searchsorted(t, T, side="left")
        eq = np.searchsorted(t, T, side="right") - lt
        take = np.clip(remaining, 0, eq)  # ties go to the cameras in their order
        remaining = remaining - take
        out[c] = lt + take
    return out


def synced_count_windows(
    rec: EventRecording,
    cameras: Sequence[str] | None = None,
    num_events: int = 7500,
    count_cameras: Sequence[str] | None = None,
    stride: int | None = None,
    drop_last: bool = True,
) -> list[tuple[Window, ...]]:
    """DHP19's frames: windows that close every ``num_events * len(count_cameras)`` events
    of the cameras' merged stream, each cutting every camera over the same time span.

    DHP19's ``Generate_DHP19.m`` passes ``eventsPerFrame * nbcam`` = 7500 * 4 = 30000 to
    ``ExtractEventsToFramesAndMeanLabels``: the four cameras' events stay in one
    time-ordered stream and a frame closes every 30000 of them, so a frame holds about
    7500 events per camera on average (more for a camera that sees more motion).

    Window ``j`` holds the merged events of ranks ``[j s, j s + n)`` (``n = num_events *
    len(count_cameras)``, ``s`` likewise from ``stride``); its span runs from its first
    event's timestamp to one microsecond after its last (its last event is DHP19's frame
    end, ``t_end - 1``). A counted camera's window holds exactly its events among those
    ranks (events of equal timestamp are ordered by camera, in ``count_cameras`` order,
    where DHP19 keeps the file order); a camera that is not counted gets its events of
    ``[t_start, t_end)``. Every camera's :class:`Window` of window ``j`` has ``group = j``
    and the window's ``t_start, t_end``.

    Args:
        rec: an open recording.
        cameras: the cameras to cut (default: every camera of the recording).
        num_events: events per camera and window, on average (DHP19: 7500); a window
            holds ``num_events * len(count_cameras)`` events of the counted cameras.
        count_cameras: the cameras whose events are counted (default: every camera of
            the recording, as DHP19 counts its four cameras).
        stride: events per camera between window starts (default ``num_events``: no overlap).
        drop_last: drop a final window with fewer events (default, as DHP19 does).

    Returns:
        one tuple per window, its windows in ``cameras`` order.
    """
    if num_events <= 0:
        raise ValueError(f"num_events must be positive, got {num_events}")
    stride = num_events if stride is None else stride
    if stride <= 0:
        raise ValueError(f"stride must be positive, got {stride}")
    cams = rec.camera_names if cameras is None else list(cameras)
    counted = rec.camera_names if count_cameras is None else list(count_cameras)
    missing = [c for c in list(cams) + counted if c not in rec.cameras]
    if missing:
        raise KeyError(f"{rec.path}: no camera(s) {sorted(set(missing))}; cameras: {rec.camera_names}")
    if not counted:
        raise ValueError("count_cameras is empty: synchronised windows count the events of at least one camera")
    size, step = num_events * len(counted), stride * len(counted)
    times = {c: rec.timestamps(c) for c in dict.fromkeys(counted + cams)}
    total = sum(times[c].size for c in counted)
    starts, ends = count_ranges(total, size, step, drop_last)
    if starts.size == 0:
        return []
    merged = np.sort(np.concatenate([times[c] for c in counted]), kind="stable")
    t0, t1 = merged[starts], merged[ends - 1] + 1
    counts = counts_before_ranks([times[c] for c in counted], np.concatenate([starts, ends]))
    idx = {}
    for c in cams:
        if c in counted:
            row = counts[counted.index(c)]
            idx[c] = (row[: starts.size], row[starts.size :])
        else:
            idx[c] = (np.searchsorted(times[c], t0, side="left"), np.searchsorted(times[c], t1, side="left"))
    return [
        tuple(Window(c, int(idx[c][0][j]), int(idx[c][1][j]), int(t0[j]), int(t1[j]), group=j) for c in cams)
        for j in range(starts.size)
    ]
