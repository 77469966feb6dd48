"""Convert one DHP19 recording (a jAER ``.aedat`` and its Vicon ``.mat``) into an evpose file.

Three streaming passes over the ``.aedat`` keep memory bounded by the chunk size:

1. **scan**: special events, first/last/min/max event times, timestamp wraps, and
   the events per pixel over the whole file (an upper bound of the counts in the
   movement: a pixel below the hot-pixel threshold there is below it in the movement);
2. **hot pixels** (only if some pixel reaches the threshold in the whole file): the
   exact events per pixel between start and stop;
3. **write**: cut to the movement, drop events outside the sensors, apply the filters
   in DHP19's order (hot pixels, background activity, infra-red masks), split by
   camera with DHP19's flips (``x' = 345 - x``, ``y' = 259 - y``) and append to the
   evpose file, timestamps shifted so that the movement starts at t = 0.

Poses are DHP19's Vicon samples at ``t = k * 10000`` us (k = 0 .. N-1) on that clock,
NaN joints marked in ``poses/valid``. Nothing is dropped without being counted: the
file attribute ``event_counts`` accounts for every polarity event of the ``.aedat``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import h5py
import numpy as np

from ..._version import __version__
from ...geometry import Camera, dhp19_cameras
from ...types import JOINT_NAMES, make_events
from ..aedat import TIMESTAMP_PERIOD, AedatReader
from ..errors import EventFormatError
from ..vicon import VICON_RATE_HZ, pose_samples, read_xyzpos
from ..writer import EventFileWriter
from .background_activity import BackgroundActivityFilter
from .filters import (
    MAP_HEIGHT,
    MAP_WIDTH,
    NUM_CAMERAS,
    SENSOR_WIDTH,
    DHP19Filters,
    count_pixels,
    in_sensor,
    ir_mask_keep,
    map_coordinates,
    pixel_index,
)
from .layout import CAMERA_OF_ADDRESS
from .sync import EventTimes, MovementInterval, SkipRecording, movement_interval

log = logging.getLogger(__name__)

#: Special events kept in memory by the scan (a corrupt file may hold many more: they are counted).
_MAX_KEPT_SPECIALS = 10_000


@dataclass
class _Scan:
    num_records: int = 0
    num_polarity: int = 0
    num_aps: int = 0
    num_imu: int = 0
    special_t: list = field(default_factory=list)
    special_address: list = field(default_factory=list)
    num_special: int = 0
    first: int | None = None
    last: int | None = None
    min: int | None = None
    max: int | None = None
    last_before_wrap: int | None = None
    wrapped: bool = False
    pixel_counts: np.ndarray | None = None
    chip: str | None = None

    def times(self) -> EventTimes:
        return EventTimes(self.first, self.last, self.min, self.max, self.wrapped, self.last_before_wrap)


def convert_recording(
    aedat,
    vicon,
    out,
    subject: int,
    session: int,
    movement: int,
    filters: DHP19Filters = DHP19Filters(),
    cameras: dict[str, Camera] | None = None,
    chunk_records: int = 1 << 18,
    on_bytes: Callable[[int], None] | None = None,
    attrs: dict | None = None,
    allow_uncertain: bool = True,
) -> dict:
    """Convert one recording (see the module docstring).

    Args:
        aedat: the jAER AEDAT 2.0 file of the four cameras.
        vicon: the Vicon ``.mat`` file (``XYZPOS``).
        out: the evpose file to write (a partial file is deleted on error).
        subject, session, movement: DHP19's numbers (file attributes).
        filters: which of DHP19's filters to apply (default all, DHP19's parameters).
        cameras: evpose cameras by name (default :func:`evpose.geometry.dhp19_cameras`).
        chunk_records: AEDAT records per chunk (default 2**18 = 2 MiB; bounds memory).
        on_bytes: called with the number of ``.aedat`` bytes each chunk of each pass covers.
        attrs: further file attributes.
        allow_uncertain: convert a recording without special events, its labels aligned to
            the first event and flagged (attribute ``alignment_uncertain``) (default True);
            False raises :class:`SkipRecording` instead.

    Returns:
        The file attributes written (plain values), for the manifest.

    Raises:
        SkipRecording: the special events rule the recording out (:class:`CorruptRecording`:
            more than 5), or its alignment is uncertain and ``allow_uncertain`` is False.
        EventFormatError: unreadable input or events the evpose format refuses.
    """
    aedat, vicon, out = Path(aedat), Path(vicon), Path(out)
    cameras = dhp19_cameras() if cameras is None else cameras
    missing = [n for n in CAMERA_OF_ADDRESS if n not in cameras]
    if missing:
        raise ValueError(f"cameras lack {missing}; DHP19 needs {list(CAMERA_OF_ADDRESS)}")
    joints = read_xyzpos(vicon)
    tick = on_bytes or (lambda n: None)

    # DHP19 recorded four DAVIS346 on one jAER MultiDavis346BCameraChip: a file whose header
    # names no chip is read as that, one that names another chip is refused
    with AedatReader(aedat, chunk_records=chunk_records, chip="davis346") as reader:
        scan = _scan(reader, filters, tick)
        if scan.num_polarity == 0:
            raise EventFormatError(aedat, "events", "no polarity events in the file")
        interval = movement_interval(scan.special_t, scan.times(), len(joints))
        if interval.uncertain and not allow_uncertain:
            raise SkipRecording(f"{interval.rule}: alignment of the labels uncertain (skip_uncertain is set)")
        if interval.stop_us <= interval.start_us:
            raise EventFormatError(aedat, "events", f"empty movement: start {interval.start_us} >= stop {interval.stop_us} ({interval.rule})")
        hot = _hot_pixels(reader, scan, interval, filters, tick)
        file_attrs = _attributes(aedat, scan, interval, joints, filters, hot, attrs)
        with EventFileWriter(out, joint_names=JOINT_NAMES, source="dhp19", subject=int(subject),
                             movement=str(movement), attrs={"session": int(session), **file_attrs}) as w:
            for name in CAMERA_OF_ADDRESS:
                w.add_camera(cameras[name])
            counts = _write_events(reader, w, interval, filters, hot, tick)
            w.write_poses(*pose_samples(joints))
    with h5py.File(out, "r+") as f:  # known only once the events are written
        f.attrs["event_counts"] = json.dumps(counts)
    if interval.spread_us > 1:
        log.warning("%s: special events treated as duplicates are %d us apart", aedat, interval.spread_us)
    return {"subject": int(subject), "session": int(session), "movement": int(movement), **file_attrs, "event_counts": counts}


# ---------------------------------------------------------------------- pass 1: scan
def _scan(reader: AedatReader, filters: DHP19Filters, tick) -> _Scan:
    s = _Scan(num_records=reader.num_records, chip=reader.header.chip)
    for ch in reader:
        tick(8 * ch.num_records)
        s.num_aps += ch.num_aps
        s.num_imu += ch.num_imu
        if len(ch.special_t):
            s.num_special += len(ch.special_t)
            room = _MAX_KEPT_SPECIALS - len(s.special_t)
            s.special_t += ch.special_t[:room].tolist()
            s.special_address += ch.special_address[:room].tolist()
        t = ch.t
        if not len(t):
            continue
        s.num_polarity += len(t)
        lo, hi = int(t.min()), int(t.max())
        s.first = int(t[0]) if s.first is None else s.first
        s.last = int(t[-1])
        s.min = lo if s.min is None else min(s.min, lo)
        s.max = hi if s.max is None else max(s.max, hi)
        if lo < TIMESTAMP_PERIOD:  # events before the first wrap
            before = hi if hi < TIMESTAMP_PERIOD else int(t[t < TIMESTAMP_PERIOD].max())
            s.last_before_wrap = before if s.last_before_wrap is None else max(s.last_before_wrap, before)
        if filters.hot_pixels:
            ok = in_sensor(ch.x, ch.y, ch.camera)
            X, Y = map_coordinates(ch.x[ok], ch.y[ok], ch.camera[ok])
            s.pixel_counts = count_pixels(X, Y, s.pixel_counts)
    # the reader's clock starts below 2**32 and passes it at the first wrap
    s.wrapped = s.max is not None and s.max >= TIMESTAMP_PERIOD
    return s


# ---------------------------------------------------------------------- pass 2: hot pixels
def _hot_pixels(reader: AedatReader, scan: _Scan, iv: MovementInterval, filters: DHP19Filters, tick):
    """Boolean map of hot pixels in the movement, or None (no filter, or no hot pixel)."""
    if not filters.hot_pixels or scan.pixel_counts is None or scan.pixel_counts.max() < filters.hot_pixel_threshold:
        tick(8 * reader.num_records)  # the pass is not needed
        return None
    counts = None
    for ch in reader:
        tick(8 * ch.num_records)
        m = (ch.t > iv.start_us) & (ch.t < iv.stop_us) & in_sensor(ch.x, ch.y, ch.camera)
        X, Y = map_coordinates(ch.x[m], ch.y[m], ch.camera[m])
        counts = count_pixels(X, Y, counts)
    hot = counts >= filters.hot_pixel_threshold
    return hot if hot.any() else None


# ---------------------------------------------------------------------- pass 3: write
def _write_events(reader: AedatReader, w: EventFileWriter, iv: MovementInterval, filters: DHP19Filters, hot, tick) -> dict:
    counts = dict(total=0, outside_movement=0, outside_sensor=0, hot_pixel=0, background_activity=0, ir_mask=0)
    written = {name: 0 for name in CAMERA_OF_ADDRESS}
    ba = None
    if filters.background_activity:
        ba = BackgroundActivityFilter(MAP_WIDTH, MAP_HEIGHT, filters.background_dt_us, filters.stamp_own_pixel)
    for ch in reader:
        tick(8 * ch.num_records)
        n = len(ch.t)
        counts["total"] += n
        m = (ch.t > iv.start_us) & (ch.t < iv.stop_us)
        counts["outside_movement"] += n - int(np.count_nonzero(m))
        ok = in_sensor(ch.x, ch.y, ch.camera)
        counts["outside_sensor"] += int(np.count_nonzero(m & ~ok))
        idx = np.flatnonzero(m & ok)
        if not idx.size:
            continue
        t, p, c = ch.t[idx], ch.p[idx], ch.camera[idx]
        X, Y = map_coordinates(ch.x[idx], ch.y[idx], c)
        # DHP19's order: hot pixels, then background activity on the survivors, then IR masks
        if hot is not None:
            keep = ~hot[pixel_index(X, Y)]
            if not keep.all():
                counts["hot_pixel"] += len(keep) - int(np.count_nonzero(keep))
                t, p, c, X, Y = t[keep], p[keep], c[keep], X[keep], Y[keep]
        keep = ba(t, X - 1, Y - 1) if ba is not None else None
        if keep is not None:
            counts["background_activity"] += len(keep) - int(np.count_nonzero(keep))
        if filters.ir_masks:
            inside = ~ir_mask_keep(X, Y, filters.ir_mask_boxes)
            if keep is None:
                keep = ~inside
            else:
                inside &= keep  # count only the survivors of the background filter
                keep &= ~inside
            counts["ir_mask"] += int(np.count_nonzero(inside))
        if keep is not None and not keep.all():
            t, p, c, X, Y = t[keep], p[keep], c[keep], X[keep], Y[keep]
        # split by camera, keeping the time order within each (stable sort of the camera index)
        order = np.argsort(c, kind="stable")
        ends = np.cumsum(np.bincount(c, minlength=NUM_CAMERAS))
        t, p, c, X, Y = t[order], p[order], c[order], X[order], Y[order]
        for cam in range(NUM_CAMERAS):
            a, b = (ends[cam - 1] if cam else 0), ends[cam]
            if a == b:
                continue
            name = CAMERA_OF_ADDRESS[cam]
            ev = make_events(
                t[a:b] - iv.start_us,
                X[a:b] - (1 + SENSOR_WIDTH * cam),  # = 345 - x
                Y[a:b] - 1,  # = 259 - y
                p[a:b],
            )
            try:
                w.append_events(name, ev)
            except EventFormatError as e:
                raise EventFormatError(reader.path, f"events of address camera {cam} ({name})", e.detail) from None
            written[name] += int(b - a)
    counts["written"] = written
    return counts


# ---------------------------------------------------------------------- attributes
def _attributes(aedat: Path, scan: _Scan, iv: MovementInterval, joints, filters: DHP19Filters, hot, attrs) -> dict:
    return {
        "t_offset_us": int(iv.start_us),
        "movement_stop_us": int(iv.stop_us - iv.start_us),
        "sync_rule": iv.rule,
        "alignment_uncertain": bool(iv.uncertain),
        "num_special_events": int(scan.num_special),
        "special_events_us": [int(v) - int(iv.start_us) for v in scan.special_t[:16]],
        "timestamp_wrapped": bool(scan.wrapped),
        "num_vicon_samples": int(len(joints)),
        "vicon_rate_hz": VICON_RATE_HZ,
        "aedat_chip": scan.chip or "",
        "num_aps_samples": int(scan.num_aps),
        "num_imu_samples": int(scan.num_imu),
        "hot_pixels": int(hot.sum()) if hot is not None else 0,
        "filters": filters.to_dict(),
        "camera_of_address": list(CAMERA_OF_ADDRESS),
        "converter": f"evpose {__version__} evpose-convert-dhp19",
        **(attrs or {}),
    }

