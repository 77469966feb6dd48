"""Readers of other event-file formats, for ``evpose-import``: each yields time-sorted chunks
of events (t int64 us, x, y uint16, p int8 0/1) and knows the sensor size.

=================  ===========================  ==========================================
format             files                        decoded by
=================  ===========================  ==========================================
AEDAT 4 (DV)       ``.aedat4``                  faery (``pip install 'evpose[import]'``)
Prophesee EVT 2/3  ``.raw``                     faery (EVT 2, 2.1, 3; version from header)
Prophesee DAT      ``.dat``                     faery
Event Stream       ``.es``                      faery
CSV / text         ``.csv``, ``.txt``           numpy, in chunks (no extra library)
numpy (tonic)      ``.npy``                     numpy, memory-mapped (structured t/x/y/p)
=================  ===========================  ==========================================

The choice of faery over aedat, expelliarmus and dv-processing is measured in
``bench/import_decoders.py`` (README, "Importing recordings"). DHP19's jAER AEDAT 2.0 files
keep their own reader (:mod:`evpose.io.aedat`, ``evpose-convert-dhp19``).

Sensor size: from the file where the format stores it (AEDAT 4 track, EVT/DAT header, a CSV
header as faery writes it, ``x@640,y@480``), else from ``sensor_size`` (``(height, width)``);
a file that states another size than the one given is an error, so is a file that states
none when none is given.
"""

from __future__ import annotations

import importlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from ..errors import EvposeInputError
from .errors import EventFormatError

#: The dtype of decoded chunks (the evpose file's dtypes, p as 0/1).
CHUNK_DTYPE = np.dtype([("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "i1")])
#: File suffix -> format name.
SUFFIXES = {
    ".aedat4": "aedat4", ".raw": "evt", ".dat": "dat", ".es": "es",
    ".csv": "csv", ".txt": "csv", ".npy": "npy",
}
#: Formats decoded by faery (the optional extra ``import``).
FAERY_FORMATS = {"aedat4": "aedat", "evt": "evt", "dat": "dat", "es": "es"}
EXTRA_HINT = "pip install 'evpose[import]' (or pip install faery)"


class MissingDecoderError(EvposeInputError, ImportError):
    """The library decoding a format is not installed (the message names the extra)."""


@dataclass(frozen=True)
class TextFormat:
    """Columns of a CSV/text event dump.

    Args:
        columns: the column order, a permutation of t, x, y, p (more columns are ignored).
        separator: ``"auto"`` (from the first data line: comma, semicolon, tab, else
            whitespace), ``","``, ``";"``, ``"\\t"`` or ``"whitespace"`` (spaces and tabs).
        header: ``"auto"`` (a first line that does not start with a number is a header),
            true or false.
        t_scale: microseconds per unit of the t column (1: microseconds; 1e6: seconds as
            fractions, rounded to the microsecond).
        on_values: p values that mean ON (all others OFF), e.g. ``[1]``; ``-1``/``0`` and
            ``0``/``1`` polarities both work with the default.
    """

    columns: Sequence[str] = ("t", "x", "y", "p")
    separator: str = "auto"
    header: str | bool = "auto"
    t_scale: float = 1.0
    on_values: Sequence[float] = (1,)


@dataclass
class EventSource:
    """An opened event file: its sensor size and a way to read its events chunk by chunk."""

    path: Path
    format: str
    width: int
    height: int
    chunks: Callable[[], Iterator[np.ndarray]] = field(repr=False)
    details: dict = field(default_factory=dict)


def detect_format(path, format: str | None = None) -> str:
    """The format of ``path`` from its suffix (or ``format`` when given)."""
    path = Path(path)
    if format:
        if format not in set(SUFFIXES.values()):
            raise EvposeInputError(f"format={format!r}: unknown; valid: {', '.join(sorted(set(SUFFIXES.values())))}")
        return format
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise EventFormatError(path, "suffix", f"{path.suffix!r} is no event format evpose-import reads; "
                                               f"known: {', '.join(sorted(SUFFIXES))} (or give format=...)")
    return fmt


def open_events(path, sensor_size: Sequence[int] | None = None, format: str | None = None,
                text: TextFormat = TextFormat(), chunk_events: int = 1 << 20, track_id: int | None = None) -> EventSource:
    """Open an event file of any supported format.

    Args:
        path: the file.
        sensor_size: ``(height, width)``: needed where the file does not say; checked where it does.
        format: force a format (default: from the suffix).
        text: the columns of CSV/text files.
        chunk_events: events per chunk of the numpy readers (bounds their memory).
        track_id: the AEDAT 4 event track (default: the first).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(2, "no such event file", str(path))
    fmt = detect_format(path, format)
    given = None if sensor_size is None else _hw(path, sensor_size)
    if fmt in FAERY_FORMATS:
        return _open_faery(path, fmt, given, track_id)
    if fmt == "csv":
        stated = _csv_sensor_size(path, text)
        h, w = _sensor(path, fmt, stated, given)
        return EventSource(path, fmt, w, h, lambda: read_text_chunks(path, text, chunk_events))
    h, w = _sensor(path, fmt, None, given)
    return EventSource(path, fmt, w, h, lambda: read_npy_chunks(path, chunk_events))


def _hw(path, sensor_size) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in sensor_size)
    except (TypeError, ValueError):
        raise EvposeInputError(f"sensor_size={sensor_size!r}: expected [height, width]") from None
    if h <= 0 or w <= 0:
        raise EvposeInputError(f"sensor_size={sensor_size!r}: height and width must be positive")
    return h, w


def _sensor(path, fmt: str, stated: tuple[int, int] | None, given: tuple[int, int] | None) -> tuple[int, int]:
    """The (height, width) of a recording: the file's, else the given one; both must agree."""
    if stated is not None and given is not None and stated != given:
        raise EventFormatError(path, "sensor size",
                               f"the file states (height, width) = {stated} but sensor_size={list(given)} was given; "
                               "leave sensor_size unset to use the file's")
    if stated is None and given is None:
        raise EventFormatError(path, "sensor size", f"a {fmt} file that does not state its sensor size; "
                                                    "give it (evpose-import sensor_size=[height,width])")
    return stated or given


# ---------------------------------------------------------------- faery (AEDAT 4, EVT 2/3, DAT, ES)
def faery_module():
    """The faery module, or :class:`MissingDecoderError` naming the extra."""
    try:
        return importlib.import_module("faery")
    except ImportError:
        raise MissingDecoderError(f"reading AEDAT 4, EVT 2/3 (.raw), DAT and ES files needs the faery library: {EXTRA_HINT}") from None


def _header_size(path: Path) -> tuple[int, int] | None:
    """(height, width) from the ``%`` header of a Prophesee EVT/DAT file, or None."""
    with open(path, "rb") as f:
        head = b""
        while True:
            line = f.readline(4096)
            if not line.startswith(b"%"):
                break
            head += line
            if line.strip() in (b"% end", b"%end"):
                break
    text = head.decode("latin-1")
    m = re.search(r"geometry\s+(\d+)\s*x\s*(\d+)", text) or re.search(r"width=(\d+);height=(\d+)", text)
    if m:
        return int(m.group(2)), int(m.group(1))
    w, h = re.search(r"%\s*Width\s+(\d+)", text), re.search(r"%\s*Height\s+(\d+)", text)
    if w and h:
        return int(h.group(1)), int(w.group(1))
    return None


def _open_faery(path: Path, fmt: str, given, track_id) -> EventSource:
    faery = faery_module()
    if fmt in ("evt", "dat"):
        stated = _header_size(path)
    else:
        stated = None
    h, w = _sensor(path, fmt, stated, given) if fmt in ("evt", "dat") else (None, None)
    fallback = (w, h) if w else ((given[1], given[0]) if given else (1280, 720))

    def stream():
        try:
            return faery.events_stream_from_file(path, track_id=track_id, dimensions_fallback=fallback,
                                                 file_type=FAERY_FORMATS[fmt])
        except Exception as e:  # faery raises plain Exception on a bad file
            raise EventFormatError(path, fmt, f"faery cannot read it: {e}") from None

    if w is None:  # AEDAT 4 and ES state the size
        fw, fh = stream().dimensions()
        h, w = _sensor(path, fmt, (int(fh), int(fw)), given)

    def chunks():
        try:
            for packet in stream():
                if len(packet):
                    out = np.empty(len(packet), CHUNK_DTYPE)
                    out["t"], out["x"], out["y"] = packet["t"], packet["x"], packet["y"]
                    out["p"] = packet["on"]
                    yield out
        except EventFormatError:
            raise
        except Exception as e:
            raise EventFormatError(path, fmt, f"faery failed while decoding: {e}") from None

    return EventSource(path, fmt, w, h, chunks)


# ---------------------------------------------------------------- CSV / text
_NUMBER = re.compile(rb"^\s*[-+]?(\d|\.\d)")


def _first_line(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.readline(1 << 16)


def _has_header(path: Path, text: TextFormat) -> bool:
    if text.header == "auto":
        return not _NUMBER.match(_first_line(path))
    return bool(text.header)


def _csv_sensor_size(path: Path, text: TextFormat) -> tuple[int, int] | None:
    """(height, width) from a header like faery's ``t,x@640,y@480,on``, or None."""
    if not _has_header(path, text):
        return None
    line = _first_line(path).decode("utf-8", "replace")
    w, h = re.search(r"\bx@(\d+)", line), re.search(r"\by@(\d+)", line)
    return (int(h.group(1)), int(w.group(1))) if w and h else None


def read_text_chunks(path, text: TextFormat = TextFormat(), chunk_events: int = 1 << 20) -> Iterator[np.ndarray]:
    """Events of a CSV/text dump, ``chunk_events`` lines at a time (numpy, no library).

    A line that is not numbers in the expected columns raises :class:`EventFormatError`
    naming the line number and its text.
    """
    path = Path(path)
    cols = [c.lower() for c in text.columns]
    if sorted(c for c in cols if c in "txyp") != ["p", "t", "x", "y"]:
        raise EvposeInputError(f"text.columns={list(text.columns)}: must name t, x, y and p once each")
    index = {c: cols.index(c) for c in "txyp"}
    skip = 1 if _has_header(path, text) else 0
    sep = _separator(path, text.separator, skip)
    on = np.asarray(text.on_values, dtype=np.float64)
    line_no = skip
    with open(path, "rb") as f:
        for _ in range(skip):
            f.readline()
        while True:
            lines = f.readlines(max(chunk_events, 1) * 24)  # ~24 bytes a line: about chunk_events lines
            lines = [ln for ln in lines if ln.strip()]
            if not lines:
                return
            block, usecols = b"".join(lines), sorted(index.values())
            try:  # integers parse twice as fast as floats; fractional times need floats
                a = np.loadtxt(io.BytesIO(block), delimiter=sep, ndmin=2, usecols=usecols,
                               dtype=np.int64 if text.t_scale == 1.0 else np.float64)
            except ValueError as e:
                try:  # a fraction where an integer belongs: _exact_int names it below
                    a = np.loadtxt(io.BytesIO(block), delimiter=sep, ndmin=2, usecols=usecols, dtype=np.float64)
                except ValueError:
                    raise EventFormatError(path, "text", _bad_line(lines, line_no, sep, len(cols), e)) from None
            pos = {c: sorted(index.values()).index(i) for c, i in index.items()}
            out = np.empty(len(a), CHUNK_DTYPE)
            t = a[:, pos["t"]] if text.t_scale == 1.0 else np.round(a[:, pos["t"]] * float(text.t_scale))
            out["t"] = _exact_int(path, "t", t, line_no, np.int64)
            out["x"] = _exact_int(path, "x", a[:, pos["x"]], line_no, np.uint16)
            out["y"] = _exact_int(path, "y", a[:, pos["y"]], line_no, np.uint16)
            out["p"] = np.isin(a[:, pos["p"]], on)
            line_no += len(lines)
            yield out


def _separator(path: Path, separator: str, skip: int) -> str | None:
    """The column separator for np.loadtxt (None: whitespace)."""
    if separator in ("whitespace", " ", None):
        return None
    if separator != "auto":
        return separator.replace("\\t", "\t")
    with open(path, "rb") as f:
        for _ in range(skip):
            f.readline()
        line = f.readline(1 << 16)
    for sep in (b",", b";", b"\t"):
        if sep in line:
            return sep.decode()
    return None


def _bad_line(lines, first_line_no, sep, ncols, err) -> str:
    for i, ln in enumerate(lines):
        parts = ln.decode("utf-8", "replace").strip().split(sep)
        try:
            [float(v) for v in parts]
        except ValueError:
            return f"line {first_line_no + i + 1}: {ln.decode('utf-8', 'replace').strip()!r} is not {ncols} numbers"
        if len(parts) < ncols:
            return f"line {first_line_no + i + 1}: {ln.decode('utf-8', 'replace').strip()!r} has {len(parts)} columns, expected {ncols}"
    return str(err)


def _exact_int(path, name, v: np.ndarray, first_line_no: int, dtype, where: str = "data line") -> np.ndarray:
    info = np.iinfo(dtype)
    bad = np.flatnonzero(~np.isfinite(v) | (v != np.round(v)) | (v < info.min) | (v > info.max))
    if bad.size:
        i = int(bad[0])
        at = f"on data line {first_line_no + i + 1}" if where == "data line" else f"at index {first_line_no + i}"
        raise EventFormatError(path, name, f"value {v[i].item()!r} {at} is not an integer "
                                           f"in [{info.min}, {info.max}] (set text.t_scale for times in seconds)")
    return v.astype(dtype)


# ---------------------------------------------------------------- numpy arrays (tonic)
def read_npy_chunks(path, chunk_events: int = 1 << 20) -> Iterator[np.ndarray]:
    """Events of a ``.npy`` structured array with fields t, x, y, p (as tonic's datasets
    give them), memory-mapped and read ``chunk_events`` at a time."""
    path = Path(path)
    try:
        a = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as e:
        raise EventFormatError(path, "npy", f"not a plain numpy array file ({e})") from None
    names = a.dtype.names or ()
    missing = [f for f in "txyp" if f not in names]
    if a.ndim != 1 or missing:
        raise EventFormatError(path, "npy", f"expected a 1-D structured array with fields t, x, y, p; "
                                            f"got shape {a.shape}, fields {list(names)}")
    for i in range(0, len(a), max(int(chunk_events), 1)):
        c = a[i : i + chunk_events]
        out = np.empty(len(c), CHUNK_DTYPE)
        for f, dt in (("t", np.int64), ("x", np.uint16), ("y", np.uint16)):
            out[f] = _exact_int(path, f, np.asarray(c[f], dtype=np.float64), i, dt, "index") if c[f].dtype.kind == "f" else _checked_cast(path, f, c[f], i, dt)
        p = np.asarray(c["p"])
        out["p"] = p > 0  # bool, 0/1 or -1/1 polarity
        yield out


def _checked_cast(path, name, v: np.ndarray, first: int, dtype) -> np.ndarray:
    info = np.iinfo(dtype)
    v = np.asarray(v)
    bad = np.flatnonzero((v < info.min) | (v > info.max)) if v.dtype.kind in "iu" else np.array([], int)
    if bad.size:
        i = int(bad[0])
        raise EventFormatError(path, name, f"value {v[i]} at index {first + i} outside [{info.min}, {info.max}]")
    return v.astype(dtype)
