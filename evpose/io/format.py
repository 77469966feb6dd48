"""The evpose event file format: names, dtypes and the checks shared by reader and writer.

One HDF5 file per recording::

    /                           attrs: format="evpose-events", format_version, joint_names,
                                       part_names, source, subject, movement, t_offset_us, ...
    /cameras/<name>/            attrs: width, height, P (3x4), K (3x3), R (3x3), t (3,)
    /cameras/<name>/events/t    int64  (N,) microseconds, non-decreasing, >= 0
    /cameras/<name>/events/x    uint16 (N,) column, < width
    /cameras/<name>/events/y    uint16 (N,) row, < height
    /cameras/<name>/events/p    int8   (N,) polarity 0 (OFF) / 1 (ON)
    /cameras/<name>/events/part    int8 (N,) optional, body part id, -1 = background
    /cameras/<name>/events/person  int8 (N,) optional, person id, -1 = background
    /cameras/<name>/events/ms_to_idx int64 (M,) ms_to_idx[m] = number of events with t < 1000 m,
                                M = t_last // 1000 + 2 (so the last entry is N); [0] if empty
    /poses/t                    int64   (T,) microseconds, strictly increasing (optional group)
    /poses/joints3d             float32 (T, K, 3) millimetres, world frame
    /poses/valid                bool    (T, K) optional; NaN joints are allowed only where False

See data/README.md for the full description.
"""

from __future__ import annotations

import numpy as np

from .errors import EventFormatError

FORMAT_NAME = "evpose-events"
FORMAT_VERSION = 1

#: Required event datasets and their exact dtypes.
EVENT_DATASETS: dict[str, np.dtype] = {
    "t": np.dtype("<i8"),
    "x": np.dtype("<u2"),
    "y": np.dtype("<u2"),
    "p": np.dtype("i1"),
}
#: Optional per-event label datasets.
LABEL_DATASETS: dict[str, np.dtype] = {
    "part": np.dtype("i1"),
    "person": np.dtype("i1"),
}
ALL_EVENT_DATASETS = {**EVENT_DATASETS, **LABEL_DATASETS}

#: Chunk length (events) of event datasets: small enough that a 50 ms window decodes little
#: more than itself (bench/io_throughput.py), large enough to compress well.
EVENT_CHUNK = 1 << 14
#: Compression of all datasets (gzip level 1 + shuffle: portable to every HDF5 reader).
COMPRESSION = dict(compression="gzip", compression_opts=1, shuffle=True)


def camera_group(name: str) -> str:
    return f"cameras/{name}"


def event_path(camera: str, field: str) -> str:
    return f"cameras/{camera}/events/{field}"


def check_events_chunk(
    path,
    camera: str,
    events: np.ndarray,
    width: int,
    height: int,
    first_index: int = 0,
    previous_t: int | None = None,
) -> None:
    """Check values of a contiguous run of events; raise :class:`EventFormatError` naming
    the first offending index (counted from the start of the camera's stream).

    Args:
        events: structured array with at least fields t, x, y, p.
        first_index: stream index of ``events[0]``.
        previous_t: timestamp of the event just before this run, if any.
    """
    n = len(events)
    if n == 0:
        return
    t = events["t"]
    if t[0] < 0:
        bad = int(np.flatnonzero(t < 0)[0])
        raise EventFormatError(
            path, event_path(camera, "t"), f"negative timestamp {int(t[bad])} at index {first_index + bad}"
        )
    if previous_t is not None and t[0] < previous_t:
        raise EventFormatError(
            path,
            event_path(camera, "t"),
            f"timestamps decrease at index {first_index}: {int(t[0])} after {int(previous_t)}",
        )
    if n > 1:
        dec = np.flatnonzero(t[1:] < t[:-1])
        if dec.size:
            i = int(dec[0])
            raise EventFormatError(
                path,
                event_path(camera, "t"),
                f"timestamps decrease at index {first_index + i + 1}: {int(t[i + 1])} after {int(t[i])}",
            )
    for field, limit in (("x", width), ("y", height)):
        v = events[field]
        over = np.flatnonzero(v >= limit)
        if over.size:
            i = int(over[0])
            raise EventFormatError(
                path,
                event_path(camera, field),
                f"value {int(v[i])} at index {first_index + i} is outside the sensor (must be < {limit})",
            )
    p = events["p"]
    badp = np.flatnonzero((p != 0) & (p != 1))
    if badp.size:
        i = int(badp[0])
        raise EventFormatError(
            path, event_path(camera, "p"), f"polarity {int(p[i])} at index {first_index + i} (must be 0 or 1)"
        )
    for field in LABEL_DATASETS:
        if field in events.dtype.names:
            v = events[field]
            badl = np.flatnonzero(v < -1)
            if badl.size:
                i = int(badl[0])
                raise EventFormatError(
                    path,
                    event_path(camera, field),
                    f"label {int(v[i])} at index {first_index + i} (must be >= -1)",
                )


def check_poses(path, t: np.ndarray, joints3d: np.ndarray, valid: np.ndarray | None) -> None:
    """Check pose samples: shapes, increasing times, NaN only where marked invalid."""
    if t.ndim != 1 or joints3d.ndim != 3 or joints3d.shape[0] != t.shape[0] or joints3d.shape[2] != 3:
        raise EventFormatError(
            path, "poses", f"expected t (T,) and joints3d (T, K, 3), got {t.shape} and {joints3d.shape}"
        )
    if t.size > 1:
        dec = np.flatnonzero(t[1:] <= t[:-1])
        if dec.size:
            i = int(dec[0]) + 1
            raise EventFormatError(
                path, "poses/t", f"pose times must increase strictly; {int(t[i])} at index {i} after {int(t[i - 1])}"
            )
    if valid is not None and valid.shape != joints3d.shape[:2]:
        raise EventFormatError(path, "poses/valid", f"shape {valid.shape} != (T, K) {joints3d.shape[:2]}")
    finite = np.isfinite(joints3d).all(axis=-1)
    bad = ~finite if valid is None else (~finite & valid)
    if bad.any():
        ti, k = (int(v) for v in np.argwhere(bad)[0])
        raise EventFormatError(
            path,
            "poses/joints3d",
            f"non-finite value {joints3d[ti, k].tolist()} at sample {ti}, joint {k} "
            "(mark lost markers in poses/valid instead)",
        )


def ms_index_for(t: np.ndarray) -> np.ndarray:
    """The ``ms_to_idx`` index of a full, sorted timestamp array (reference for tests and writers).

    Shapes:
        t: (N,) -> (t_last // 1000 + 2,), or (1,) = [0] when empty
    """
    if t.size == 0:
        return np.zeros(1, dtype=np.int64)
    edges = np.arange(int(t[-1]) // 1000 + 2, dtype=np.int64) * 1000
    return np.searchsorted(t, edges, side="left").astype(np.int64)
