"""Writing evpose event files, in one call or chunk by chunk (bounded memory)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Mapping

import h5py
import numpy as np

from ..geometry import Camera
from ..types import JOINT_NAMES, PART_NAMES, first_inexact
from .errors import EventFormatError
from .format import (
    ALL_EVENT_DATASETS,
    COMPRESSION,
    EVENT_CHUNK,
    EVENT_DATASETS,
    FORMAT_NAME,
    FORMAT_VERSION,
    LABEL_DATASETS,
    camera_group,
    check_events_chunk,
    check_poses,
    event_path,
)


class _CameraStream:
    """Append state of one camera: the resizable datasets and the ms index built so far."""

    def __init__(self, group: h5py.Group, camera: Camera, fields: tuple[str, ...]):
        self.camera = camera
        self.fields = fields
        ev = group.create_group("events")
        self.datasets = {
            f: ev.create_dataset(f, shape=(0,), maxshape=(None,), dtype=ALL_EVENT_DATASETS[f], chunks=(EVENT_CHUNK,), **COMPRESSION)
            for f in fields
        }
        self.ms_dataset = ev.create_dataset(
            "ms_to_idx", shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(EVENT_CHUNK,), **COMPRESSION
        )
        self.n = 0
        self.last_t: int | None = None
        self.next_ms = 0  # first millisecond boundary whose index is not yet written

    def append(self, path, name: str, events: np.ndarray) -> None:
        missing = [f for f in self.fields if f not in (events.dtype.names or ())]
        if missing:
            raise EventFormatError(
                path, f"cameras/{name}/events", f"events lack field(s) {missing}; the camera was declared with {list(self.fields)}"
            )
        events = self._exact(path, name, events)
        check_events_chunk(path, name, events, self.camera.width, self.camera.height, self.n, self.last_t)
        m = len(events)
        if m == 0:
            return
        for f in self.fields:
            d = self.datasets[f]
            d.resize((self.n + m,))
            d[self.n :] = events[f]
        t = events["t"]
        # Millisecond boundaries that this chunk settles: all with 1000*m <= t_last of the chunk.
        last_ms = int(t[-1]) // 1000
        if last_ms >= self.next_ms:
            edges = np.arange(self.next_ms, last_ms + 1, dtype=np.int64) * 1000
            idx = self.n + np.searchsorted(t, edges, side="left")
            self._append_ms(idx)
            self.next_ms = last_ms + 1
        self.n += m
        self.last_t = int(t[-1])

    def _exact(self, path, name: str, events: np.ndarray) -> np.ndarray:
        """The events in the file's dtypes; a value that does not fit exactly (a fraction,
        NaN, out of range) is an error naming field and index, never rounded or wrapped."""
        if all(events.dtype[f] == ALL_EVENT_DATASETS[f] for f in self.fields):
            return events
        out = np.empty(len(events), dtype=[(f, ALL_EVENT_DATASETS[f]) for f in self.fields])
        for f in self.fields:
            bad = first_inexact(events[f], ALL_EVENT_DATASETS[f])
            if bad is not None:
                raise EventFormatError(
                    path, event_path(name, f),
                    f"value {events[f][bad].item()!r} at index {self.n + bad} cannot be stored exactly as "
                    f"{ALL_EVENT_DATASETS[f]} (events must hold integers within the field's range)",
                )
            out[f] = events[f]
        return out

    def _append_ms(self, idx: np.ndarray) -> None:
        k = self.ms_dataset.shape[0]
        self.ms_dataset.resize((k + len(idx),))
        self.ms_dataset[k:] = idx

    def finish(self) -> None:
        # The boundary just after the last event's millisecond holds N; an empty stream holds [0].
        self._append_ms(np.array([self.n], dtype=np.int64))


class EventFileWriter:
    """Write one recording in the evpose format.

    Example::

        with EventFileWriter("rec.h5", source="synthetic", subject=1, movement="walk") as w:
            w.add_camera(camera, labels=("part", "person"))
            for chunk in chunks:
                w.append_events(camera.name, chunk)
            w.write_poses(t_us, joints3d)

    Events are validated as they arrive (sorted, on the sensor, polarity 0/1, values the
    file's integer dtypes hold exactly: no fraction, NaN or out-of-range number) and
    nothing is sorted, rounded, clipped or dropped: bad data raises :class:`EventFormatError`
    naming the field and the index.
    Memory stays bounded by the chunk size. The file is complete only after
    :meth:`close` (the ms index is finished there).

    Args:
        path: output file (overwritten).
        joint_names: names of the K joints of ``poses/joints3d``.
        part_names: names of the part ids used in ``events/part``.
        source: where the data comes from (``synthetic``, ``dhp19``, ...).
        subject: subject id.
        movement: movement name or id.
        attrs: further file attributes (scalars, strings or JSON-able values).
        chunk_cache_bytes: HDF5 chunk cache per dataset (default 1 MiB, HDF5's own
            default; h5py builds may default to 8 MiB, which for the 5 datasets of each
            camera of a long multi-camera recording adds up to hundreds of MB). Appends
            only need the one partially filled chunk of each dataset cached.
    """

    def __init__(
        self,
        path,
        joint_names: Iterable[str] = JOINT_NAMES,
        part_names: Iterable[str] = PART_NAMES,
        source: str = "unknown",
        subject: int | str = -1,
        movement: str = "",
        attrs: Mapping | None = None,
        chunk_cache_bytes: int = 1 << 20,
    ):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.joint_names = tuple(joint_names)
        self._file = h5py.File(self.path, "w", rdcc_nbytes=int(chunk_cache_bytes))
        a = self._file.attrs
        a["format"] = FORMAT_NAME
        a["format_version"] = FORMAT_VERSION
        a["joint_names"] = np.array(self.joint_names, dtype=h5py.string_dtype())
        a["part_names"] = np.array(tuple(part_names), dtype=h5py.string_dtype())
        a["source"] = str(source)
        a["subject"] = subject
        a["movement"] = str(movement)
        for k, v in (attrs or {}).items():
            a[k] = v if isinstance(v, (str, int, float, np.ndarray, np.generic)) else json.dumps(v)
        self._cams: dict[str, _CameraStream] = {}
        self._file.create_group("cameras")
        self._poses_written = False

    # ------------------------------------------------------------------ cameras and events
    def add_camera(self, camera: Camera, labels: Iterable[str] = ()) -> None:
        """Declare a camera and which optional label fields (``part``, ``person``) it carries."""
        name = camera.name
        if not name or "/" in name:
            raise EventFormatError(self.path, "cameras", f"invalid camera name {name!r}")
        if name in self._cams:
            raise EventFormatError(self.path, camera_group(name), "camera added twice")
        labels = tuple(labels)
        unknown = [f for f in labels if f not in LABEL_DATASETS]
        if unknown:
            raise EventFormatError(self.path, camera_group(name), f"unknown label field(s) {unknown}; valid: {list(LABEL_DATASETS)}")
        g = self._file.create_group(camera_group(name))
        g.attrs["width"] = camera.width
        g.attrs["height"] = camera.height
        g.attrs["P"] = camera.P
        g.attrs["K"] = camera.K
        g.attrs["R"] = camera.R
        g.attrs["t"] = camera.t
        self._cams[name] = _CameraStream(g, camera, tuple(EVENT_DATASETS) + labels)

    def append_events(self, camera: str, events: np.ndarray) -> None:
        """Append time-sorted events (structured array) to a camera's stream.

        Shapes:
            events: (N,) with fields t, x, y, p and the camera's declared labels
        """
        if camera not in self._cams:
            raise EventFormatError(self.path, camera_group(camera), f"camera not added; added: {list(self._cams)}")
        self._cams[camera].append(self.path, camera, events)

    # ------------------------------------------------------------------ poses
    def write_poses(self, t: np.ndarray, joints3d: np.ndarray, valid: np.ndarray | None = None) -> None:
        """Write the 3D pose samples (world frame, mm).

        Shapes:
            t: (T,) int64 microseconds, joints3d: (T, K, 3), valid: (T, K) bool or None
        """
        if self._poses_written:
            raise EventFormatError(self.path, "poses", "poses written twice")
        t = np.asarray(t)
        if not np.issubdtype(t.dtype, np.integer):
            raise EventFormatError(self.path, "poses/t", f"must be integer microseconds, got dtype {t.dtype}")
        t = t.astype(np.int64)
        joints3d = np.asarray(joints3d, dtype=np.float32)
        if valid is not None:
            valid = np.asarray(valid, dtype=bool)
        check_poses(self.path, t, joints3d, valid)
        if joints3d.shape[1] != len(self.joint_names):
            raise EventFormatError(
                self.path, "poses/joints3d", f"{joints3d.shape[1]} joints but {len(self.joint_names)} joint names"
            )
        g = self._file.create_group("poses")
        chunk_t = max(1, min(len(t), 4096))
        g.create_dataset("t", data=t, chunks=(chunk_t,), **COMPRESSION)
        g.create_dataset("joints3d", data=joints3d, chunks=(chunk_t, joints3d.shape[1], 3), **COMPRESSION)
        if valid is not None:
            g.create_dataset("valid", data=valid, chunks=(chunk_t, joints3d.shape[1]), **COMPRESSION)
        self._poses_written = True

    def set_attrs(self, **attrs) -> None:
        """Set file attributes known only after the events are written (e.g. a time offset)."""
        for k, v in attrs.items():
            self._file.attrs[k] = v if isinstance(v, (str, int, float, np.ndarray, np.generic)) else json.dumps(v)

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        if self._file is None:
            return
        try:
            if self._file.id.valid:
                for s in self._cams.values():
                    s.finish()
        finally:
            self._file.close()
            self._file = None

    def abort(self) -> None:
        """Close and delete the partial file."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> "EventFileWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_recording(
    path,
    events: Mapping[str, tuple[Camera, np.ndarray]],
    poses: tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    chunk: int = 1 << 20,
    **attrs,
) -> Path:
    """Write a whole recording at once.

    Args:
        path: output file.
        events: ``{camera_name: (camera, events)}``; label fields present in the events
            array (``part``, ``person``) are written too.
        poses: ``(t, joints3d)`` or ``(t, joints3d, valid)``, or None.
        chunk: events written per append (bounds the temporary memory).
        **attrs: passed to :class:`EventFileWriter` (source, subject, movement, attrs, ...).
    """
    with EventFileWriter(path, **attrs) as w:
        for name, (camera, ev) in events.items():
            if camera.name != name:
                raise EventFormatError(path, camera_group(name), f"camera object is named {camera.name!r}")
            labels = [f for f in LABEL_DATASETS if f in (ev.dtype.names or ())]
            w.add_camera(camera, labels=labels)
            for i in range(0, max(len(ev), 1), chunk):
                w.append_events(name, ev[i : i + chunk])
        if poses is not None:
            w.write_poses(*poses)
    return Path(path)
