"""The windows of one recording by a named window kind and label rule (what datasets and evaluation index)."""

from __future__ import annotations

from typing import Sequence

from ..io import EventRecording
from .dhp19_labels import dhp19_label_samples
from .synced_windows import synced_count_windows
from .windows import Window, constant_count_windows, constant_duration_windows

#: Window kinds: ``count`` (per camera, its own clock), ``duration`` (per camera, fixed
#: time), ``count_synced`` (DHP19's frames: counted over a set of cameras, every camera
#: cut at the same times).
WINDOW_KINDS = ("count", "duration", "count_synced")


def recording_windows(
    rec: EventRecording,
    cameras: Sequence[str],
    window: str = "count",
    num_events: int = 7500,
    duration_us: int = 50_000,
    stride: int | None = None,
    count_cameras: Sequence[str] | None = None,
    label_rule: str | None = None,
) -> list[Window]:
    """Every window of the given cameras of a recording.

    Per-camera kinds list camera by camera; ``count_synced`` lists window by window (the
    cameras of a window next to each other, sharing ``group``). With ``label_rule="dhp19"``
    and a recording with poses, each window gets DHP19's label samples and the stream stops
    at DHP19's stop rule (:func:`~evpose.data.dhp19_label_samples`), computed on every
    window before any ``min_events`` filter (DHP19 has none); without poses every window is kept.

    Args:
        rec: an open recording.
        cameras: the cameras to cut.
        window: a kind of :data:`WINDOW_KINDS`.
        num_events: events per window (``count``), per camera and window on average
            (``count_synced``: a window closes every ``num_events * len(count_cameras)``
            events of the counted cameras).
        duration_us: window length (``duration``).
        stride: events (count kinds, per camera) or microseconds between window starts
            (default: no overlap).
        count_cameras: the cameras counted by ``count_synced`` (default: all of the recording).
        label_rule: ``"dhp19"`` assigns DHP19's label samples; other rules need nothing here.
    """
    if window not in WINDOW_KINDS:
        raise ValueError(f"unknown window kind {window!r}; valid: {', '.join(WINDOW_KINDS)}")
    if window != "count_synced" and count_cameras is not None:
        raise ValueError(f"count_cameras is for window='count_synced', not {window!r}")
    dhp19 = label_rule == "dhp19" and rec.has_poses
    pose_t = rec.pose_times() if dhp19 else None
    if window == "count_synced":
        ws = [w for group in synced_count_windows(rec, cameras, num_events, count_cameras, stride) for w in group]
        return dhp19_label_samples(ws, pose_t) if dhp19 else ws
    out: list[Window] = []
    for cam in cameras:
        if window == "count":
            ws = constant_count_windows(rec, cam, num_events, stride)
        else:
            ws = constant_duration_windows(rec, cam, duration_us, stride)
        out += dhp19_label_samples(ws, pose_t) if dhp19 else ws
    return out
