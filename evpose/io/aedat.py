"""Reader of jAER AEDAT 2.0 files (DVS128, DAVIS240, DAVIS346; DHP19's four cameras interleaved).

The format: text header lines that start with ``#`` (the first is ``#!AER-DAT2.0``),
then a body of 8-byte events, big-endian: ``uint32 address, uint32 timestamp`` (us).

How an address holds x, y and polarity depends on the camera: the header's ``AEChip:``
line names jAER's chip class, and the reader decodes by it (:data:`CHIPS`). A file whose
chip is missing or unknown is refused unless the caller names the chip (``chip=``); a
``chip=`` that contradicts the header's is refused too.

DVS128 addresses (jAER's ``DVS128`` / ``Tmpdiff128`` extractor; 128 x 128)::

    bit 15 set                 special (external/sync) event: kept apart
    otherwise                  polarity event:
        x        = 127 - ((address & 0xFE) >> 1)
        y        = (address & 0x7F00) >> 8
        polarity = ON when bit 0 is 0, OFF when it is 1

DAVIS addresses (DAVIS240: 240 x 180, DAVIS346: 346 x 260; as DHP19's
``ImportAedatDataVersion1or2.m`` reads them)::

    bit 31 set                 APS (frame) sample, or IMU sample when bit 11 is also set: skipped
    bit 10 set                 special (sync) event: kept apart with its timestamp and address
    otherwise                  polarity event:
        y        = (address & 0x7FC00000) >> 22
        x        = (address & 0x003FF000) >> 12
        polarity = (address >> 11) & 1         1 = ON (brighter)
        camera   = address & 0xF               DHP19's camera index 0..3 (0 for one camera)

DAVIS coordinates are returned as stored (no flips; DHP19's flips live in
``evpose.io.dhp19``), also beyond the chip's sensor (the chip's size is in
:attr:`AedatReader.chip` for callers that check).

Timestamps are uint32 and wrap around every 2**32 us (71.6 min). The reader unwraps
them into int64: a backward jump of more than 2**31 us between consecutive polarity or
special events is a wrap (``+ 2**32``); smaller backward jumps are kept as they are
(they are data, not wraps). The state is carried from chunk to chunk, so a wrap on a
chunk boundary is handled like any other.

The body streams in chunks (``chunk_records`` events, default 2**18 = 2 MiB) through
one reused buffer: memory is bounded by the chunk size whatever the file size.

Header parsing: lines are read while the next byte is ``#``; each must end in ``\\n``
within 1 MiB. jAER's optional ``#End Of ASCII Header`` line ends the header. A
``#`` line holding bytes that are not text (controls other than tab, CR, LF) is taken
as the first event of the body (an address whose top byte is 0x23), not as a header line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import EventFormatError

AEDAT_MAGIC = b"#!AER-DAT"
#: Bytes per event in AEDAT 2.0: uint32 address + uint32 timestamp, big-endian.
RECORD_BYTES = 8
#: A timestamp is a uint32 number of microseconds; it wraps around at 2**32.
TIMESTAMP_PERIOD = 1 << 32
_WRAP_JUMP = 1 << 31
_MAX_HEADER_LINE = 1 << 20
_END_OF_HEADER = b"#End Of ASCII Header"

APS_IMU_BIT = 0x80000000
IMU_BIT = 0x800
SPECIAL_BIT = 0x400
Y_MASK, Y_SHIFT = 0x7FC00000, 22
X_MASK, X_SHIFT = 0x003FF000, 12
POLARITY_SHIFT = 11
CAMERA_MASK = 0xF

DVS128_SPECIAL_BIT = 0x8000
DVS128_X_MASK, DVS128_X_SHIFT = 0xFE, 1
DVS128_Y_MASK, DVS128_Y_SHIFT = 0x7F00, 8
DVS128_OFF_BIT = 0x1


@dataclass(frozen=True)
class Chip:
    """An address layout and the sensor it comes from.

    Args:
        name: ``"dvs128"``, ``"davis240"`` or ``"davis346"``.
        layout: ``"dvs128"`` or ``"davis"`` (how addresses are decoded).
        width, height: sensor columns and rows.
    """

    name: str
    layout: str
    width: int
    height: int


#: The chips the reader decodes, by the name ``chip=`` takes.
CHIPS: dict[str, Chip] = {
    "dvs128": Chip("dvs128", "dvs128", 128, 128),
    "davis240": Chip("davis240", "davis", 240, 180),
    "davis346": Chip("davis346", "davis", 346, 260),
}
# jAER chip class names (the last component, lower case) -> chip; e.g.
# ch.unizh.ini.jaer.chip.retina.DVS128, eu.seebetter.ini.chips.davis.DAVIS240C,
# eu.seebetter.ini.chips.davis.Davis346B, ch.unizh.ini.jaer.chip.multicamera.MultiDavis346BCameraChip
_CHIP_PATTERNS = (("dvs128", "dvs128"), ("tmpdiff128", "dvs128"), ("davis240", "davis240"), ("davis346", "davis346"))


def chip_of_class(jaer_class: str | None) -> Chip | None:
    """The chip a jAER ``AEChip`` class name stands for, or None when unknown."""
    if not jaer_class:
        return None
    last = jaer_class.strip().split(".")[-1].lower()
    for pattern, name in _CHIP_PATTERNS:
        if pattern in last:
            return CHIPS[name]
    return None


def resolve_chip(path, header: "AedatHeader", chip: str | None) -> Chip:
    """The chip to decode a file with: the header's, or ``chip`` when the header names none
    or one the reader does not know.

    Raises:
        EventFormatError: no usable chip, or ``chip`` contradicting the header's.
        ValueError: ``chip`` is not one of :data:`CHIPS`.
    """
    if chip is not None and chip not in CHIPS:
        raise ValueError(f"chip={chip!r} is not a chip this reader decodes; valid: {', '.join(CHIPS)}")
    found = chip_of_class(header.chip)
    if chip is None:
        if found is not None:
            return found
        what = "names no AEChip" if header.chip is None else f"names AEChip {header.chip!r}, which this reader does not decode"
        raise EventFormatError(
            path, "header",
            f"the header {what}, so the address layout is unknown; pass chip= one of {', '.join(CHIPS)} if you know the camera",
        )
    if found is not None and found.name != chip:
        raise EventFormatError(path, "header", f"chip={chip!r} was given, but the header's AEChip {header.chip!r} is a {found.name}")
    return CHIPS[chip]


#: Polarity events as one structured array (raw address fields, unwrapped time).
AEDAT_EVENT_DTYPE = np.dtype([("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "i1"), ("camera", "u1")])

# bytes that may appear in a header line: printable ASCII, tab, CR, LF, and >= 0x80 (UTF-8 / Latin-1)
_TEXT_BYTES = bytes([9, 10, 13]) + bytes(range(32, 127)) + bytes(range(128, 256))
_NOT_TEXT = bytes(range(256)).translate(None, _TEXT_BYTES)


@dataclass(frozen=True)
class AedatHeader:
    """The text header of an AEDAT file.

    Args:
        version: the format version after ``#!AER-DAT`` (``"2.0"``).
        lines: the header lines after the version line, without their leading ``#``
            and line ending.
        data_offset: byte offset of the first event.
        chip: the jAER chip class named by the ``AEChip:`` line, or None.
        created: the ``created`` date line, or None.
    """

    version: str
    lines: tuple[str, ...]
    data_offset: int
    chip: str | None = None
    created: str | None = None


@dataclass
class AedatChunk:
    """The events of a run of consecutive records, decoded.

    Shapes:
        t, x, y, p, camera: (N,) polarity events; int64 unwrapped us, uint16, uint16,
            int8 (0/1), uint8 (address camera index, 0..15)
        special_t, special_address: (M,) special events; int64 unwrapped us, uint32
    """

    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    p: np.ndarray
    camera: np.ndarray
    special_t: np.ndarray
    special_address: np.ndarray
    #: index of the first record of the chunk in the file, and number of records it spans
    first_record: int = 0
    num_records: int = 0
    #: skipped samples: APS (frame) and IMU
    num_aps: int = 0
    num_imu: int = 0
    data_offset: int = field(default=0, repr=False)

    def __len__(self) -> int:
        return len(self.t)

    @property
    def byte_offset(self) -> int:
        """Byte offset of the chunk's first record in the file."""
        return self.data_offset + RECORD_BYTES * self.first_record

    def events(self) -> np.ndarray:
        """The polarity events as one structured array (:data:`AEDAT_EVENT_DTYPE`)."""
        out = np.empty(len(self.t), dtype=AEDAT_EVENT_DTYPE)
        out["t"], out["x"], out["y"], out["p"], out["camera"] = self.t, self.x, self.y, self.p, self.camera
        return out


class TimestampUnwrapper:
    """Turns a stream of uint32 timestamps into int64 microseconds that do not wrap.

    A backward jump of more than 2**31 us from the previous timestamp is a wrap-around
    (adds 2**32 from there on). Feed consecutive pieces of one stream in order.
    """

    def __init__(self):
        self.wraps = 0
        self._last: int | None = None

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        """Shapes: raw (N,) uint32 -> (N,) int64."""
        t = raw.astype(np.int64)
        if t.size == 0:
            return t
        prev = int(t[0]) if self._last is None else self._last
        hi = max(prev, int(t.max()))
        if hi - int(t.min()) > _WRAP_JUMP:  # a wrap is possible: look for it
            d = np.diff(t, prepend=prev)
            jumps = d < -_WRAP_JUMP
            if jumps.any():
                epochs = np.cumsum(jumps, dtype=np.int64)
                epochs += self.wraps
                self._last = int(t[-1])
                t += epochs << 32
                self.wraps = int(epochs[-1])
                return t
        self._last = int(t[-1])
        if self.wraps:
            t += self.wraps << 32
        return t


def read_aedat_header(path) -> AedatHeader:
    """Parse the text header of an AEDAT 2.0 file (see the module docstring)."""
    path = Path(path)
    with open(path, "rb") as f:
        return _parse_header(path, f)


def _parse_header(path: Path, f) -> AedatHeader:
    first = f.readline(_MAX_HEADER_LINE)
    if not first.startswith(AEDAT_MAGIC):
        raise EventFormatError(
            path, "header", f"not an AEDAT file: the first line is {first[:40]!r}, expected it to start with {AEDAT_MAGIC!r}"
        )
    version = first[len(AEDAT_MAGIC) :].strip().decode("latin-1")
    if not version.startswith("2."):
        raise EventFormatError(
            path, "header", f"AEDAT version {version!r} is not supported (only 2.x, jAER's 8-byte big-endian events)"
        )
    if not first.endswith(b"\n"):
        raise EventFormatError(path, "header", "the first header line is not terminated (file truncated?)")
    lines: list[str] = []
    offset = f.tell()
    while True:
        f.seek(offset)
        if f.read(1) != b"#":
            break
        f.seek(offset)
        line = f.readline(_MAX_HEADER_LINE)
        if line.translate(None, _NOT_TEXT) != line:
            break  # binary: the body starts with an address whose first byte is '#'
        if not line.endswith(b"\n"):
            what = "longer than 1 MiB" if len(line) >= _MAX_HEADER_LINE else "not terminated (file truncated?)"
            raise EventFormatError(path, "header", f"header line at byte offset {offset} is {what}")
        offset += len(line)
        lines.append(line[1:].rstrip(b"\r\n").decode("latin-1").strip())
        if line.startswith(_END_OF_HEADER):
            break
    chip = created = None
    for text in lines:
        if text.startswith("AEChip:"):
            chip = text[len("AEChip:") :].strip()
        elif text.startswith("created "):
            created = text[len("created ") :].strip()
    return AedatHeader(version=version, lines=tuple(lines), data_offset=offset, chip=chip, created=created)


class AedatReader:
    """Stream the events of a jAER AEDAT 2.0 file chunk by chunk.

    Example::

        with AedatReader("mov1.aedat") as r:
            for chunk in r:                    # AedatChunk, bounded memory
                chunk.t, chunk.x, chunk.camera, chunk.special_t

    Args:
        path: the ``.aedat`` file.
        chunk_records: records (8-byte events, APS/IMU included) per chunk (default 2**18 = 2 MiB).
        allow_truncated: a body whose size is not a multiple of 8 bytes raises
            :class:`EventFormatError` naming the byte offset of the incomplete event
            (default); with True the complete events are read and the tail is ignored
            (its size is in :attr:`trailing_bytes`).
        chip: ``"dvs128"``, ``"davis240"`` or ``"davis346"`` for a file whose header names
            no chip or an unknown one (default None: the header's chip; a missing or
            unknown one is an :class:`EventFormatError`). The decoding chip is :attr:`chip`.
    """

    def __init__(self, path, chunk_records: int = 1 << 18, allow_truncated: bool = False, chip: str | None = None):
        self.path = Path(path)
        if chunk_records < 1:
            raise ValueError(f"chunk_records must be >= 1, got {chunk_records}")
        self.chunk_records = int(chunk_records)
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such AEDAT file")
        self._file = open(self.path, "rb")
        try:
            self.header = _parse_header(self.path, self._file)
            self.chip = resolve_chip(self.path, self.header, chip)
            self.size_bytes = os.fstat(self._file.fileno()).st_size
            body = self.size_bytes - self.header.data_offset
            self.num_records, self.trailing_bytes = divmod(body, RECORD_BYTES)
            if self.trailing_bytes and not allow_truncated:
                at = self.header.data_offset + RECORD_BYTES * self.num_records
                raise EventFormatError(
                    self.path,
                    "events",
                    f"file truncated: {self.trailing_bytes} byte(s) at byte offset {at} (file size {self.size_bytes}) "
                    f"do not make a whole {RECORD_BYTES}-byte event; event {self.num_records} is incomplete "
                    f"({self.num_records} complete events precede it; allow_truncated=True reads those)",
                )
        except BaseException:
            self._file.close()
            raise

    @property
    def data_offset(self) -> int:
        return self.header.data_offset

    def __iter__(self) -> Iterator[AedatChunk]:
        return self.chunks()

    def chunks(self) -> Iterator[AedatChunk]:
        """Decode the whole body, in order, one chunk at a time (restarts at every call)."""
        unwrap = TimestampUnwrapper()
        decode = _DECODERS[self.chip.layout]
        buf = np.empty(2 * min(self.chunk_records, max(self.num_records, 1)), dtype=np.uint32)
        f = self._file
        f.seek(self.data_offset)
        done = 0
        while done < self.num_records:
            n = min(self.chunk_records, self.num_records - done)
            view = buf[: 2 * n]
            got = f.readinto(memoryview(view).cast("B"))
            if got != RECORD_BYTES * n:
                at = self.data_offset + RECORD_BYTES * done + (got or 0)
                raise EventFormatError(
                    self.path, "events", f"file ended early at byte offset {at} (expected {self.size_bytes} bytes; was it truncated while reading?)"
                )
            view.byteswap(inplace=True)  # big-endian on disk
            yield decode(view.reshape(n, 2), unwrap, done, self.data_offset)
            done += n

    def read(self) -> AedatChunk:
        """All events of the file at once (for small files and notebooks)."""
        parts = list(self.chunks())
        if not parts:
            return _empty_chunk(self.data_offset)
        cat = lambda name: np.concatenate([getattr(c, name) for c in parts])  # noqa: E731
        return AedatChunk(
            t=cat("t"), x=cat("x"), y=cat("y"), p=cat("p"), camera=cat("camera"),
            special_t=cat("special_t"), special_address=cat("special_address"),
            first_record=0, num_records=self.num_records,
            num_aps=sum(c.num_aps for c in parts), num_imu=sum(c.num_imu for c in parts),
            data_offset=self.data_offset,
        )

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "AedatReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AedatReader({str(self.path)!r}, {self.num_records} records, chip={self.chip.name!r})"


def read_aedat(path, allow_truncated: bool = False, chip: str | None = None) -> AedatChunk:
    """Decode a whole AEDAT 2.0 file into memory (see :class:`AedatReader` to stream)."""
    with AedatReader(path, allow_truncated=allow_truncated, chip=chip) as r:
        return r.read()


def _decode_davis(records: np.ndarray, unwrap: TimestampUnwrapper, first_record: int, data_offset: int) -> AedatChunk:
    """Decode (N, 2) native uint32 DAVIS records (address, timestamp)."""
    addr = records[:, 0]
    aps_imu = (addr & APS_IMU_BIT) != 0
    n_aps_imu = int(np.count_nonzero(aps_imu))
    n_imu = int(np.count_nonzero(aps_imu & ((addr & IMU_BIT) != 0))) if n_aps_imu else 0
    if n_aps_imu:
        keep = ~aps_imu
        addr = addr[keep]
        ts = records[keep, 1]
    else:
        addr = np.ascontiguousarray(addr)
        ts = records[:, 1]
    t = unwrap(ts)  # polarity and special events, in file order
    special = (addr & SPECIAL_BIT) != 0
    if special.any():
        pol = ~special
        special_t, special_address = t[special], addr[special]
        addr, t = addr[pol], t[pol]
    else:
        special_t, special_address = np.empty(0, np.int64), np.empty(0, np.uint32)
    return AedatChunk(
        t=t,
        x=((addr & X_MASK) >> X_SHIFT).astype(np.uint16),
        y=((addr & Y_MASK) >> Y_SHIFT).astype(np.uint16),
        p=((addr >> POLARITY_SHIFT) & 1).astype(np.int8),
        camera=(addr & CAMERA_MASK).astype(np.uint8),
        special_t=special_t,
        special_address=special_address,
        first_record=first_record,
        num_records=len(records),
        num_aps=n_aps_imu - n_imu,
        num_imu=n_imu,
        data_offset=data_offset,
    )


def _decode_dvs128(records: np.ndarray, unwrap: TimestampUnwrapper, first_record: int, data_offset: int) -> AedatChunk:
    """Decode (N, 2) native uint32 DVS128 records (address, timestamp)."""
    addr = np.ascontiguousarray(records[:, 0])
    t = unwrap(records[:, 1])
    special = (addr & DVS128_SPECIAL_BIT) != 0
    if special.any():
        pol = ~special
        special_t, special_address = t[special], addr[special]
        addr, t = addr[pol], t[pol]
    else:
        special_t, special_address = np.empty(0, np.int64), np.empty(0, np.uint32)
    return AedatChunk(
        t=t,
        x=(127 - ((addr & DVS128_X_MASK) >> DVS128_X_SHIFT)).astype(np.uint16),
        y=((addr & DVS128_Y_MASK) >> DVS128_Y_SHIFT).astype(np.uint16),
        p=(1 - (addr & DVS128_OFF_BIT)).astype(np.int8),
        camera=np.zeros(len(addr), dtype=np.uint8),
        special_t=special_t,
        special_address=special_address,
        first_record=first_record,
        num_records=len(records),
        data_offset=data_offset,
    )


_DECODERS = {"davis": _decode_davis, "dvs128": _decode_dvs128}


def _empty_chunk(data_offset: int) -> AedatChunk:
    e = lambda dt: np.empty(0, dtype=dt)  # noqa: E731
    return AedatChunk(
        t=e(np.int64), x=e(np.uint16), y=e(np.uint16), p=e(np.int8), camera=e(np.uint8),
        special_t=e(np.int64), special_address=e(np.uint32), data_offset=data_offset,
    )
