"""DHP19's label rule: which Vicon samples a frame's label averages, and where generation stops."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .windows import Window


def nearest_pose_sample(t: np.ndarray, pose_t: np.ndarray) -> np.ndarray:
    """DHP19's end sample of a frame: ``k = round((t - start) / period)``, 0-based.

    DHP19 (``ExtractEventsToFramesAndMeanLabels.m``) computes, 1-based and in uint32
    arithmetic, ``k = floor((t_end - startTime) * 0.0001) + 1``: the uint32 product is
    already rounded (to nearest, halves up), so the 0-based sample is
    ``round((t - start) / 10 ms)``, halves up, and 0 for a time before the start (uint32
    saturates). ``start`` is the time of the first Vicon sample (evpose's DHP19 converter
    puts it at t = 0) and the period that of the samples (10 ms at 100 Hz); both are read
    from ``pose_t``, which must be evenly spaced (to 1 us, for rounded synthetic rates).
    Samples past the last one are numbered on (the stop rule needs them).

    Shapes:
        t: (J,) int microseconds; pose_t: (T,) -> (J,) int64
    """
    pose_t = np.asarray(pose_t, dtype=np.int64)
    if pose_t.size < 2:
        raise ValueError(f"DHP19's label rule needs at least two pose samples, got {pose_t.size}")
    start = int(pose_t[0])
    period = (int(pose_t[-1]) - start) / (pose_t.size - 1)
    grid = start + period * np.arange(pose_t.size)
    if np.abs(pose_t - grid).max() > 1.0:
        i = int(np.argmax(np.abs(pose_t - grid)))
        raise ValueError(f"DHP19's label rule needs evenly spaced pose samples; sample {i} at {int(pose_t[i])} us, "
                         f"expected {grid[i]:.0f} us (period {period:.1f} us)")
    d = np.maximum(np.asarray(t, dtype=np.int64) - start, 0)
    return np.floor(d / period + 0.5).astype(np.int64)


def dhp19_sample_ranges(t_end: np.ndarray, pose_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Vicon samples of each frame's label by DHP19's rule, and the stop rule.

    With ``k_j`` the end sample of frame ``j`` (:func:`nearest_pose_sample` of its last
    event's time), frame ``j`` averages samples ``k_{j-1} .. k_j``, both included (MATLAB
    ``XYZPOS(last_k:k, :)``, then ``last_k = k``): two consecutive frames share their
    common end sample. The first frame starts at the first sample (``last_k`` starts at 1
    in MATLAB, 0 here). Generation stops at the first frame whose ``k`` passes the last
    sample: that frame and every later one are dropped.

    Args:
        t_end: the time of each frame's last event, in stream order (a :class:`Window`'s
            ``t_end - 1``).
        pose_t: the pose sample times.

    Shapes:
        t_end: (J,) -> (first (J',), last (J',)) int64, J' <= J frames kept.
    """
    k = nearest_pose_sample(t_end, pose_t)
    past = np.flatnonzero(k > len(pose_t) - 1)
    kept = k[: past[0]] if past.size else k
    first = np.concatenate([[0], kept[:-1]]).astype(np.int64)[: kept.size]
    return first, kept


def dhp19_label_samples(windows: Sequence[Window], pose_t: np.ndarray) -> list[Window]:
    """A stream's windows (in time order, one camera or one synchronised sequence) with
    DHP19's label samples set (``pose0``, ``pose1``) and cut by the stop rule
    (:func:`dhp19_sample_ranges`). Windows sharing a ``group`` (>= 0) are one frame: they
    get the same samples."""
    if not windows:
        return []
    if windows[0].group >= 0:
        groups = sorted({w.group for w in windows})
        ends = {w.group: w.t_end for w in windows}
        first, last = dhp19_sample_ranges(np.array([ends[g] - 1 for g in groups], dtype=np.int64), pose_t)
        ranges = {g: (int(a), int(b)) for g, a, b in zip(groups, first, last)}
        return [w._replace(pose0=ranges[w.group][0], pose1=ranges[w.group][1]) for w in windows if w.group in ranges]
    first, last = dhp19_sample_ranges(np.array([w.t_end - 1 for w in windows], dtype=np.int64), pose_t)
    return [w._replace(pose0=int(a), pose1=int(b)) for w, a, b in zip(windows, first, last)]
