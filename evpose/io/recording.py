"""Reading evpose event files: windows of events by time or index, poses, cameras."""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np

from ..geometry import Camera
from ..types import event_dtype
from .errors import EventFormatError
from .format import (
    ALL_EVENT_DATASETS,
    EVENT_DATASETS,
    FORMAT_NAME,
    FORMAT_VERSION,
    LABEL_DATASETS,
    check_events_chunk,
    check_poses,
    event_path,
)


class EventRecording:
    """One evpose recording, opened read-only.

    Every read touches only the slice it needs (the per-millisecond index makes a
    time lookup O(1)). Structure and dtypes are checked when the file opens; values
    (sensor bounds, sorted timestamps, polarity) are checked on every slice read,
    so a corrupt region raises :class:`EventFormatError` naming file, field and index.

    Args:
        path: an evpose ``.h5`` file.
        check: check the values of every slice read (default True).

    Example::

        with EventRecording("S01_walk.h5") as rec:
            ev = rec.events("cam2", 1_000_000, 1_050_000)   # structured (N,) array
            pose = rec.joints_at(1_025_000)                # (K, 3) mm
    """

    def __init__(self, path, check: bool = True):
        self.path = Path(path)
        self.check = check
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such evpose recording")
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as e:
            raise EventFormatError(self.path, "/", f"not a readable HDF5 file ({e})") from None
        try:
            self._read_structure()
        except EventFormatError:
            self._file.close()
            raise
        except (OSError, KeyError) as e:
            self._file.close()
            raise EventFormatError(self.path, "/", f"damaged file ({e})") from None
        self._ms_cache: dict[str, np.ndarray] = {}
        self._ds_cache: dict[tuple[str, str], h5py.Dataset] = {}

    # ------------------------------------------------------------------ structure
    def _read_structure(self) -> None:
        f = self._file
        fmt = f.attrs.get("format")
        if fmt is not None and _as_str(fmt) != FORMAT_NAME:
            raise EventFormatError(self.path, "/format", f"is {_as_str(fmt)!r}, expected {FORMAT_NAME!r}")
        version = int(f.attrs.get("format_version", FORMAT_VERSION))
        if version > FORMAT_VERSION:
            raise EventFormatError(
                self.path, "/format_version", f"version {version} is newer than this evpose reads ({FORMAT_VERSION})"
            )
        if "cameras" not in f:
            raise EventFormatError(self.path, "cameras", "missing group (an evpose file has cameras/<name>/events)")
        if len(f["cameras"]) == 0:
            raise EventFormatError(self.path, "cameras", "holds no camera")
        self._cameras: dict[str, Camera] = {}
        self._fields: dict[str, tuple[str, ...]] = {}
        self._counts: dict[str, int] = {}
        for name, g in f["cameras"].items():
            self._cameras[name] = self._read_camera(name, g)
            if "events" not in g:
                raise EventFormatError(self.path, f"cameras/{name}/events", "missing group")
            ev = g["events"]
            fields = []
            n = None
            for field, dtype in ALL_EVENT_DATASETS.items():
                if field not in ev:
                    if field in EVENT_DATASETS:
                        raise EventFormatError(self.path, event_path(name, field), "missing dataset")
                    continue
                d = ev[field]
                if d.dtype != dtype:
                    raise EventFormatError(self.path, event_path(name, field), f"dtype {d.dtype}, expected {dtype}")
                if d.ndim != 1:
                    raise EventFormatError(self.path, event_path(name, field), f"shape {d.shape}, expected (N,)")
                if n is None:
                    n = d.shape[0]
                elif d.shape[0] != n:
                    raise EventFormatError(
                        self.path, event_path(name, field), f"length {d.shape[0]} differs from events/t length {n}"
                    )
                fields.append(field)
            if "ms_to_idx" not in ev:
                raise EventFormatError(self.path, event_path(name, "ms_to_idx"), "missing dataset")
            ms = ev["ms_to_idx"]
            if ms.dtype.kind not in "iu" or ms.ndim != 1 or ms.shape[0] < 1:
                raise EventFormatError(
                    self.path, event_path(name, "ms_to_idx"), f"must be a non-empty 1-D integer index, got {ms.dtype} {ms.shape}"
                )
            for field in (*fields, "ms_to_idx"):
                _check_stored(self.path, event_path(name, field), ev[field])
            self._check_ms_bounds(name, ev, int(n))
            self._fields[name] = tuple(fields)
            self._counts[name] = int(n)
        self.attrs = {k: _decode_attr(v) for k, v in f.attrs.items()}
        self._has_poses = "poses" in f
        if self._has_poses:
            g = f["poses"]
            for ds in ("t", "joints3d"):
                if ds not in g:
                    raise EventFormatError(self.path, f"poses/{ds}", "missing dataset")
            if g["t"].dtype.kind != "i":
                raise EventFormatError(self.path, "poses/t", f"dtype {g['t'].dtype}, expected int64 microseconds")
            if g["joints3d"].dtype.kind != "f" or g["joints3d"].ndim != 3 or g["joints3d"].shape[2] != 3:
                raise EventFormatError(
                    self.path, "poses/joints3d", f"expected float (T, K, 3), got {g['joints3d'].dtype} {g['joints3d'].shape}"
                )
            if g["joints3d"].shape[0] != g["t"].shape[0]:
                raise EventFormatError(
                    self.path, "poses/joints3d", f"{g['joints3d'].shape[0]} samples but poses/t has {g['t'].shape[0]}"
                )

    def _check_ms_bounds(self, name: str, ev: h5py.Group, n: int) -> None:
        """The ms index agrees with the event datasets at its ends (three point reads): its
        last entry is the number of events, its length covers the last timestamp. Catches
        event datasets cut to a shorter length and indexes of another stream."""
        ms = ev["ms_to_idx"]
        length = ms.shape[0]
        first, last = int(ms[0]), int(ms[length - 1])
        where = event_path(name, "ms_to_idx")
        if first != 0:
            raise EventFormatError(self.path, where, f"entry {first} at ms 0, expected 0 (no event has t < 0)")
        if last != n:
            raise EventFormatError(
                self.path, where,
                f"last entry {last} but the event datasets hold {n} events: the datasets were cut or the index is wrong",
            )
        if n == 0:
            expect = 1
        else:
            t_last = int(ev["t"][n - 1])
            if t_last < 0:
                raise EventFormatError(self.path, event_path(name, "t"), f"negative timestamp {t_last} at index {n - 1}")
            expect = t_last // 1000 + 2
        if length != expect:
            raise EventFormatError(
                self.path, where,
                f"length {length}, expected {expect} (the last event, at index {n - 1}, is at t = "
                f"{'none' if n == 0 else t_last} us)",
            )

    def _read_camera(self, name: str, g: h5py.Group) -> Camera:
        a = g.attrs
        for key in ("width", "height"):
            if key not in a:
                raise EventFormatError(self.path, f"cameras/{name}/{key}", "missing attribute")
        width, height = int(a["width"]), int(a["height"])
        try:
            if all(k in a for k in ("K", "R", "t")):
                return Camera(K=a["K"], R=a["R"], t=a["t"], width=width, height=height, name=name)
            if "P" in a:
                return Camera.from_projection(a["P"], width, height, name)
        except ValueError as e:
            raise EventFormatError(self.path, f"cameras/{name}", f"bad calibration ({e})") from None
        raise EventFormatError(self.path, f"cameras/{name}", "needs attribute P (3x4) or K, R, t")

    # ------------------------------------------------------------------ metadata
    @property
    def cameras(self) -> dict[str, Camera]:
        """``{name: Camera}`` of every camera in the file."""
        return dict(self._cameras)

    @property
    def camera_names(self) -> list[str]:
        return list(self._cameras)

    def camera(self, name: str) -> Camera:
        return self._cameras[self._check_camera(name)]

    def num_events(self, camera: str) -> int:
        return self._counts[self._check_camera(camera)]

    def fields(self, camera: str) -> tuple[str, ...]:
        """Event fields stored for a camera, e.g. ``('t', 'x', 'y', 'p', 'part', 'person')``."""
        return self._fields[self._check_camera(camera)]

    def has_labels(self, camera: str, field: str = "part") -> bool:
        return field in self.fields(camera)

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(self.attrs.get("joint_names", ()))

    @property
    def part_names(self) -> tuple[str, ...]:
        return tuple(self.attrs.get("part_names", ()))

    @property
    def has_poses(self) -> bool:
        return self._has_poses

    def time_range(self, camera: str) -> tuple[int, int]:
        """(first, last) event timestamp of a camera, microseconds; (0, 0) when empty."""
        n = self.num_events(camera)
        if n == 0:
            return (0, 0)
        t = self._dataset(camera, "t")
        return int(t[0]), int(t[n - 1])

    # ------------------------------------------------------------------ events
    def events_slice(self, camera: str, i0: int, i1: int, fields=None) -> np.ndarray:
        """Events ``i0 <= i < i1`` of a camera as a structured array.

        Args:
            fields: fields to read (default: all stored); ``t, x, y, p`` always come.

        Shapes:
            -> (i1 - i0,) structured array with fields t, x, y, p[, part, person]
        """
        camera = self._check_camera(camera)
        n = self._counts[camera]
        if not (0 <= i0 <= i1 <= n):
            raise IndexError(f"{self.path}: camera {camera!r}: slice [{i0}, {i1}) outside [0, {n}]")
        stored = self._fields[camera]
        if fields is None:
            fields = stored
        else:
            unknown = [f for f in fields if f not in stored]
            if unknown:
                raise KeyError(f"{self.path}: camera {camera!r} has no event field(s) {unknown}; stored: {list(stored)}")
            fields = tuple(EVENT_DATASETS) + tuple(f for f in fields if f in LABEL_DATASETS)
        out = np.empty(i1 - i0, dtype=event_dtype("part" in fields, "person" in fields))
        try:
            for f in fields:
                out[f] = self._dataset(camera, f)[i0:i1]
        except OSError as e:
            raise EventFormatError(self.path, f"cameras/{camera}/events", f"unreadable data in [{i0}, {i1}) ({e})") from None
        if self.check:
            prev = None
            if i0 > 0 and i1 > i0:
                prev = int(self._dataset(camera, "t")[i0 - 1])
            cam = self._cameras[camera]
            check_events_chunk(self.path, camera, out, cam.width, cam.height, i0, prev)
        return out

    def events(self, camera: str, t_start: int, t_end: int, fields=None) -> np.ndarray:
        """Events with ``t_start <= t < t_end`` (microseconds) of a camera."""
        i0, i1 = self.index_range(camera, t_start, t_end)
        return self.events_slice(camera, i0, i1, fields)

    def index_range(self, camera: str, t_start: int, t_end: int) -> tuple[int, int]:
        """Indices ``(i0, i1)`` of the events with ``t_start <= t < t_end``."""
        camera = self._check_camera(camera)
        if t_end < t_start:
            raise ValueError(f"{self.path}: t_end {t_end} < t_start {t_start}")
        return self.index_of_time(camera, t_start), self.index_of_time(camera, t_end)

    def index_of_time(self, camera: str, t: int) -> int:
        """Number of events of a camera with timestamp < ``t`` (the first index at or after t).

        The two index entries used are checked against the timestamps they bound (the
        events just before and at each entry; one read of the millisecond's events plus
        one on each side), so a wrong ``ms_to_idx`` raises :class:`EventFormatError`
        instead of returning the wrong events.
        """
        camera = self._check_camera(camera)
        ms = self._ms_index(camera)
        t = int(t)
        if t <= 0:
            return 0
        n = self._counts[camera]
        m = t // 1000
        if m >= len(ms) - 1:  # after the last event's millisecond (len(ms) is checked at open)
            return n
        lo, hi = int(ms[m]), int(ms[m + 1])
        a, b = max(lo - 1, 0), min(hi + 1, n)
        try:
            ts = self._dataset(camera, "t")[a:b]
        except OSError as e:
            raise EventFormatError(self.path, event_path(camera, "t"), f"unreadable data in [{a}, {b}) ({e})") from None
        for entry, idx in ((m, lo), (m + 1, hi)):
            edge = 1000 * entry
            before = idx > 0 and int(ts[idx - 1 - a]) >= edge
            at = idx < n and int(ts[idx - a]) < edge
            if before or at:
                i = idx - 1 if before else idx
                raise EventFormatError(
                    self.path, event_path(camera, "ms_to_idx"),
                    f"wrong entry {idx} at ms {entry}: event {i} has t = {int(ts[i - a])} us "
                    f"({'not before' if before else 'before'} {edge} us); the index does not match the events",
                )
        return lo + int(np.searchsorted(ts[lo - a : hi - a], t, side="left"))

    def timestamps(self, camera: str) -> np.ndarray:
        """(N,) every timestamp of a camera, int64 microseconds (only the ``t`` field is read),
        checked non-decreasing."""
        camera = self._check_camera(camera)
        try:
            t = self._dataset(camera, "t")[: self._counts[camera]].astype(np.int64)
        except OSError as e:
            raise EventFormatError(self.path, event_path(camera, "t"), f"unreadable data ({e})") from None
        if t.size > 1 and np.any(t[1:] < t[:-1]):
            i = int(np.flatnonzero(t[1:] < t[:-1])[0]) + 1
            raise EventFormatError(self.path, event_path(camera, "t"), f"timestamp {int(t[i])} at index {i} decreases")
        return t

    def timestamps_at(self, camera: str, indices) -> np.ndarray:
        """Timestamps of the events at the given indices (any order), int64 microseconds."""
        camera = self._check_camera(camera)
        idx = np.asarray(indices, dtype=np.int64)
        n = self._counts[camera]
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            bad = idx[(idx < 0) | (idx >= n)][0]
            raise IndexError(f"{self.path}: camera {camera!r}: event index {int(bad)} outside [0, {n})")
        try:
            return _read_points(self._dataset(camera, "t"), idx.ravel()).reshape(idx.shape)
        except OSError as e:
            raise EventFormatError(self.path, event_path(camera, "t"), f"unreadable data ({e})") from None

    def _ms_index(self, camera: str) -> np.ndarray:
        ms = self._ms_cache.get(camera)
        if ms is None:
            ms = self._file[event_path(camera, "ms_to_idx")][:].astype(np.int64)
            n = self._counts[camera]
            if ms[-1] != n or (ms.size > 1 and np.any(ms[1:] < ms[:-1])) or ms[0] < 0:
                raise EventFormatError(
                    self.path,
                    event_path(camera, "ms_to_idx"),
                    f"inconsistent index (last entry {int(ms[-1])}, events {n}); rewrite the file with evpose.io",
                )
            self._ms_cache[camera] = ms
        return ms

    def _dataset(self, camera: str, field: str) -> h5py.Dataset:
        key = (camera, field)
        d = self._ds_cache.get(key)
        if d is None:  # h5py's path lookup costs more than a small read: look up once
            d = self._ds_cache[key] = self._file[event_path(camera, field)]
        return d

    def _check_camera(self, name: str) -> str:
        if name not in self._cameras:
            raise KeyError(f"{self.path}: no camera {name!r}; cameras: {list(self._cameras)}")
        return name

    # ------------------------------------------------------------------ poses
    def _require_poses(self) -> h5py.Group:
        if not self._has_poses:
            raise EventFormatError(self.path, "poses", "this recording has no pose labels")
        return self._file["poses"]

    @property
    def num_poses(self) -> int:
        return int(self._require_poses()["t"].shape[0])

    def pose_times(self) -> np.ndarray:
        """(T,) int64 pose sample times in microseconds (small: read whole)."""
        return self._require_poses()["t"][:].astype(np.int64)

    def poses(self, t_start: int | None = None, t_end: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pose samples with ``t_start <= t < t_end`` (all when None).

        Returns:
            ``(t, joints3d, valid)``; shapes (T,), (T, K, 3) float32 mm, (T, K) bool.
        """
        g = self._require_poses()
        t_all = self._pose_t()
        j0 = 0 if t_start is None else int(np.searchsorted(t_all, t_start, side="left"))
        j1 = len(t_all) if t_end is None else int(np.searchsorted(t_all, t_end, side="left"))
        j1 = max(j0, j1)
        return self._pose_rows(g, t_all, j0, j1)

    def poses_by_index(self, j0: int, j1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pose samples ``j0 <= j < j1`` (0-based sample numbers), as :meth:`poses` returns them."""
        g = self._require_poses()
        t_all = self._pose_t()
        if not (0 <= j0 <= j1 <= len(t_all)):
            raise IndexError(f"{self.path}: pose samples [{j0}, {j1}) outside [0, {len(t_all)}]")
        return self._pose_rows(g, t_all, int(j0), int(j1))

    def _pose_t(self) -> np.ndarray:
        t = getattr(self, "_pose_t_cache", None)
        if t is None:
            t = self.pose_times()
            if t.size > 1 and np.any(t[1:] <= t[:-1]):
                i = int(np.flatnonzero(t[1:] <= t[:-1])[0]) + 1
                raise EventFormatError(self.path, "poses/t", f"not strictly increasing at index {i}: {int(t[i])}")
            self._pose_t_cache = t
        return t

    def _pose_rows(self, g, t_all, j0, j1):
        joints = g["joints3d"][j0:j1].astype(np.float32)
        valid = g["valid"][j0:j1].astype(bool) if "valid" in g else None
        if self.check:
            try:
                check_poses(self.path, t_all[j0:j1], joints, valid)
            except EventFormatError as e:
                # report the sample index in the file, not in the slice
                raise EventFormatError(self.path, e.field, e.detail + (f" (slice starts at sample {j0})" if j0 else "")) from None
        if valid is None:
            valid = np.ones(joints.shape[:2], dtype=bool)
        return t_all[j0:j1], joints, valid

    def joints_at(self, t) -> tuple[np.ndarray, np.ndarray]:
        """Poses linearly interpolated at time(s) ``t`` (microseconds).

        Outside the sampled range the first / last sample is held. A joint is valid
        when both samples around ``t`` are valid.

        Returns:
            ``(joints3d, valid)``; shapes (..., K, 3) float64 and (..., K) bool for t (...).
        """
        g = self._require_poses()
        t_all = self._pose_t()
        if t_all.size == 0:
            raise EventFormatError(self.path, "poses/t", "no pose samples")
        tq = np.asarray(t, dtype=np.float64)
        j = np.clip(np.searchsorted(t_all, tq, side="right") - 1, 0, len(t_all) - 1)
        j_next = np.minimum(j + 1, len(t_all) - 1)
        lo, hi = int(j.min()), int(j_next.max()) + 1
        _, joints, valid = self._pose_rows(g, t_all, lo, hi)
        ta, tb = t_all[j].astype(np.float64), t_all[j_next].astype(np.float64)
        w = np.where(tb > ta, np.clip((tq - ta) / np.where(tb > ta, tb - ta, 1.0), 0.0, 1.0), 0.0)
        ja, jb = joints[j - lo].astype(np.float64), joints[j_next - lo].astype(np.float64)
        va, vb = valid[j - lo], valid[j_next - lo]
        # w == 0 or 1 must not bring a NaN of an unused sample into the result
        ja = np.where(va[..., None], ja, 0.0)
        jb = np.where(vb[..., None], jb, 0.0)
        out = ja * (1 - w)[..., None, None] + jb * w[..., None, None]
        ok = np.where(w[..., None] == 0, va, np.where(w[..., None] == 1, vb, va & vb))
        out = np.where(ok[..., None], out, np.nan)
        return out, ok

    # ------------------------------------------------------------------ full check
    def validate(self, chunk: int = 1 << 20) -> None:
        """Check every event, index entry and pose of the file.

        Reads ``chunk`` values at a time (memory bounded by the chunk, time proportional to
        the data the file really stores: declared sizes are checked when it opens).
        """
        for name in self._cameras:
            n = self._counts[name]
            for i0 in range(0, n, chunk):
                self.events_slice(name, i0, min(n, i0 + chunk))
            ms = self._file[event_path(name, "ms_to_idx")]
            t = self._dataset(name, "t")
            prev = 0
            # every entry must be a correct lower bound: ms[m] = #events with t < 1000 m
            for m0 in range(0, len(ms), chunk):
                m1 = min(len(ms), m0 + chunk)
                idx = ms[m0:m1].astype(np.int64)
                steps = np.diff(idx, prepend=prev)
                bad = (steps < 0) | (idx > n)
                if bad.any():
                    m = m0 + int(np.flatnonzero(bad)[0])
                    raise EventFormatError(self.path, event_path(name, "ms_to_idx"), f"wrong entry {int(ms[m])} at ms {m}")
                prev = int(idx[-1])
                edges = np.arange(m0, m1, dtype=np.int64) * 1000
                at = idx < n  # the event at the entry must be at or after the boundary
                bad[at] |= _read_points(t, idx[at], chunk) < edges[at]
                before = idx > 0  # the event before it must be earlier than the boundary
                bad[before] |= _read_points(t, idx[before] - 1, chunk) >= edges[before]
                if bad.any():
                    m = m0 + int(np.flatnonzero(bad)[0])
                    raise EventFormatError(self.path, event_path(name, "ms_to_idx"), f"wrong entry {int(ms[m])} at ms {m}")
        if self._has_poses:
            self.poses()

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        if getattr(self, "_file", None) is not None:
            self._ds_cache = {}
            self._file.close()
            self._file = None

    def __enter__(self) -> "EventRecording":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        cams = ", ".join(f"{n}: {self._counts[n]} ev" for n in self._cameras)
        return f"EventRecording({str(self.path)!r}, {cams}, poses={'yes' if self._has_poses else 'no'})"


def _check_stored(path, field: str, d: h5py.Dataset) -> None:
    """A dataset must store every value it declares, in this file: a shape larger than the
    stored data (unwritten chunks read as zeros) is refused before anything is allocated,
    and so is data kept in other files (external storage, virtual datasets)."""
    if d.is_virtual or d.id.get_create_plist().get_external_count() > 0:
        raise EventFormatError(path, field, "stored outside this file (virtual or external dataset); evpose reads only self-contained files")
    n = d.shape[0]
    if n == 0:
        return
    if d.chunks is not None:
        want = -(-n // d.chunks[0])
        have = d.id.get_num_chunks()
        if have != want:
            raise EventFormatError(
                path, field,
                f"declares {n} values but stores {have} of its {want} chunks "
                f"(file size {os.path.getsize(path)} bytes): the file is damaged or lies about its size",
            )
    elif d.id.get_create_plist().get_layout() == h5py.h5d.CONTIGUOUS:
        want = n * d.dtype.itemsize
        have = d.id.get_storage_size()
        if have != want:
            raise EventFormatError(
                path, field,
                f"declares {n} values ({want} bytes) but stores {have} bytes "
                f"(file size {os.path.getsize(path)} bytes): the file is damaged or lies about its size",
            )


def _read_points(ds: h5py.Dataset, idx: np.ndarray, block: int = 1 << 18) -> np.ndarray:
    """Read scattered entries of a 1-D dataset, one contiguous block read per occupied block
    (bounded memory, and each compressed chunk is decoded once)."""
    idx = np.asarray(idx, dtype=np.int64)
    out = np.empty(len(idx), dtype=ds.dtype)
    if len(idx) == 0:
        return out
    order = np.argsort(idx, kind="stable")
    sidx = idx[order]
    blocks = sidx // block
    cut = np.flatnonzero(np.diff(blocks)) + 1
    for part in np.split(np.arange(len(sidx)), cut):
        a = int(sidx[part[0]])
        b = int(sidx[part[-1]]) + 1
        out[order[part]] = ds[a:b][sidx[part] - a]
    return out


def _as_str(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _decode_attr(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray) and v.dtype.kind in "OS":
        return tuple(x.decode() if isinstance(x, bytes) else str(x) for x in v)
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, str) and v[:1] in "[{":
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v
