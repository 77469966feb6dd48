"""``evpose-import``: event files of other formats (a file or a folder of them) -> an evpose
dataset folder, one camera per file, no poses, with a manifest and a split.

Resumable like the DHP19 converter: a file already imported (same source file, same size) is
kept, an interrupted one is imported again (it is written as ``<name>.partial`` and renamed
when complete). Memory stays bounded by the decoder's chunks. A file that fails is listed in
the manifest's ``failed`` list (the others are imported) and the command exits with status 1.
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .._version import __version__
from ..errors import EvposeInputError
from ..geometry import Camera
from .errors import EventFormatError
from .importers import SUFFIXES, TextFormat, open_events
from .manifest import MANIFEST_NAME, load_manifest, write_manifest
from .progress import ByteProgress
from .recording import EventRecording
from .writer import EventFileWriter

log = logging.getLogger(__name__)

SOURCE = "import"
PARTIAL_SUFFIX = ".partial"
TIME_RULES = ("error", "clamp")


def uncalibrated_camera(width: int, height: int, name: str) -> Camera:
    """A camera of the given sensor size without calibration: a nominal pinhole (focal length
    = width in pixels, principal point at the centre, at the world origin). The file's
    ``calibrated`` attribute says it is not a real calibration."""
    f = float(width)
    return Camera(K=[[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]], R=np.eye(3), t=np.zeros(3),
                  width=width, height=height, name=name)


def find_inputs(src: Path) -> list[Path]:
    """The event files to import: ``src`` itself, or every file of a known suffix below it (sorted)."""
    if src.is_file():
        return [src]
    if not src.exists():
        raise FileNotFoundError(2, "no such file or folder to import", str(src))
    files = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                   and not any(part.startswith(".") for part in p.relative_to(src).parts))
    if not files:
        raise EvposeInputError(f"{src}: no event files found (known suffixes: {', '.join(sorted(SUFFIXES))})")
    return files


def assign_splits(names: Sequence[str], val_share: float, test_share: float) -> dict[str, str]:
    """Split recordings by a hash of their name (stable: adding files moves few others).

    ``round(share * n)`` recordings go to val and to test, at least one each when the share
    is above zero and enough recordings remain; train always keeps at least one.
    """
    for what, share in (("val_share", val_share), ("test_share", test_share)):
        if not 0.0 <= share < 1.0:
            raise EvposeInputError(f"{what}={share}: must be in [0, 1)")
    order = sorted(names, key=lambda n: hashlib.sha1(n.encode()).hexdigest())
    n = len(order)
    out, i = {}, 0
    for split, share in (("val", val_share), ("test", test_share)):
        k = max(round(share * n), 1 if share > 0 else 0)
        k = min(k, n - i - 1)  # train keeps one
        for name in order[i : i + max(k, 0)]:
            out[name] = split
        i += max(k, 0)
    for name in order[i:]:
        out[name] = "train"
    return out


class EventImporter:
    """Import event files into an evpose dataset folder (see the module docstring).

    Args:
        sensor_size: ``[height, width]`` for files that do not state it (CSV without a size
            header, numpy arrays, EVT files without a geometry header); checked against
            files that do.
        format: force a format for every file (default: from the suffix).
        text: columns of CSV/text files (:class:`~evpose.io.importers.TextFormat` fields).
        camera: the camera name in the written files.
        val_share, test_share: shares of the recordings in the val and test splits.
        on_time_decrease: ``error`` (default): a timestamp below the one before is an error
            naming the index; ``clamp``: it is raised to the previous one (counted in the
            manifest entry's ``time_clamped``).
        chunk_events: events per chunk of the numpy readers.
        track_id: the AEDAT 4 event track (default: the first).
        overwrite: import again files already imported.
        progress: show a progress bar (bytes of the input files).
    """

    def __init__(
        self,
        sensor_size: Sequence[int] | None = None,
        format: str | None = None,
        text: Mapping | TextFormat | None = None,
        camera: str = "cam0",
        val_share: float = 0.1,
        test_share: float = 0.0,
        on_time_decrease: str = "error",
        chunk_events: int = 1 << 20,
        track_id: int | None = None,
        overwrite: bool = False,
        progress: bool = True,
    ):
        if on_time_decrease not in TIME_RULES:
            raise EvposeInputError(f"on_time_decrease={on_time_decrease!r}; valid: {', '.join(TIME_RULES)}")
        self.sensor_size = None if sensor_size is None else [int(v) for v in sensor_size]
        self.format = format
        self.text = text if isinstance(text, TextFormat) else TextFormat(**dict(text or {}))
        self.camera = str(camera)
        self.val_share, self.test_share = float(val_share), float(test_share)
        self.on_time_decrease = on_time_decrease
        self.chunk_events = int(chunk_events)
        self.track_id = track_id
        self.overwrite = bool(overwrite)
        self.progress = bool(progress)

    def parameters(self, src: Path) -> dict:
        return {
            "input": str(src), "sensor_size": self.sensor_size, "format": self.format,
            "text": {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in vars(self.text).items()},
            "camera": self.camera, "val_share": self.val_share, "test_share": self.test_share,
            "on_time_decrease": self.on_time_decrease, "importer": f"evpose {__version__}",
        }

    # ------------------------------------------------------------------ run
    def run(self, src, out) -> dict:
        """Import ``src`` (a file or a folder) into ``out``; returns the manifest written."""
        src, out = Path(src), Path(out)
        files = find_inputs(src)
        base = src.parent if src.is_file() else src
        rels = [f.relative_to(base).as_posix() for f in files]
        targets: dict[str, str] = {}
        for rel in rels:
            target = Path(rel).with_suffix(".h5").as_posix()
            if target in targets.values():
                other = next(k for k, v in targets.items() if v == target)
                raise EvposeInputError(f"{base / other} and {base / rel} would both be written to {out / target}; "
                                       "rename one or import them into separate folders")
            targets[rel] = target
        earlier = self._earlier_entries(out, set(targets.values()))
        splits = assign_splits(rels, self.val_share, self.test_share)
        manifest = {"source": SOURCE, "parameters": self.parameters(src), "recordings": [], "skipped": [], "failed": []}
        bar = ByteProgress(sum(f.stat().st_size for f in files), desc="import", enabled=self.progress)
        t_start = time.perf_counter()
        try:
            for k, (file, rel) in enumerate(zip(files, rels), start=1):
                path = out / targets[rel]
                path.with_name(path.name + PARTIAL_SUFFIX).unlink(missing_ok=True)  # left by an interrupted run
                label = f"[{k}/{len(files)}] {rel}"
                bar.describe(rel)
                size = file.stat().st_size
                if path.exists() and not self.overwrite and self._same_source(path, rel, size):
                    manifest["recordings"].append(_entry(out, path, splits[rel]))
                    log.info("%s: already imported, kept", label)
                else:
                    self._import_one(file, rel, path, out, splits[rel], label, manifest, bar)
                bar.update(size)
                write_manifest(out, _merged(manifest, earlier))
        finally:
            bar.close()
        manifest = _merged(manifest, earlier)
        write_manifest(out, manifest)
        log.info("import: %d recordings in %s (%s), %d skipped, %d failed (%.0f s)", len(manifest["recordings"]), out,
                 ", ".join(f"{s} {sum(r['split'] == s for r in manifest['recordings'])}" for s in ("train", "val", "test")),
                 len(manifest["skipped"]), len(manifest["failed"]), time.perf_counter() - t_start)
        return manifest

    def _same_source(self, path: Path, rel: str, size: int) -> bool:
        """Whether ``path`` is a complete import of ``rel`` as it is now (else it is imported again)."""
        try:
            with EventRecording(path, check=False) as r:
                a = r.attrs
                return a.get("source_file") == rel and int(a.get("source_bytes", -1)) == size
        except Exception as e:  # damaged: import it again
            log.warning("%s: unreadable (%s); it will be imported again", path, e)
            return False

    def _import_one(self, file: Path, rel: str, path: Path, out: Path, split: str, label: str, manifest, bar) -> None:
        partial = path.with_name(path.name + PARTIAL_SUFFIX)
        where = {"source_file": rel}
        t0 = time.perf_counter()
        try:
            source = open_events(file, self.sensor_size, self.format, self.text, self.chunk_events, self.track_id)
            n, clamped = self._write(source, rel, partial, bar)
            if n == 0:
                manifest["skipped"].append({**where, "reason": "no events"})
                log.warning("%s: skipped: no events", label)
                return
            partial.replace(path)
        except Exception as e:  # one bad file must not stop the others
            log.error("%s: failed: %s", label, e if isinstance(e, EvposeInputError) else f"{type(e).__name__}: {e}")
            log.debug("traceback", exc_info=True)
            manifest["failed"].append({**where, "error": f"{type(e).__name__}: {e}"})
        else:
            manifest["recordings"].append(_entry(out, path, split))
            log.info("%s: %d events, %d x %d (%s) in %.1f s -> %s%s", label, n, source.width, source.height, source.format,
                     time.perf_counter() - t0, path, f"; {clamped} timestamps clamped" if clamped else "")
        finally:
            partial.unlink(missing_ok=True)

    def _write(self, source, rel: str, partial: Path, bar) -> tuple[int, int]:
        """Decode ``source`` chunk by chunk into ``partial``; returns (events, timestamps clamped)."""
        cam = uncalibrated_camera(source.width, source.height, self.camera)
        attrs = {"source_file": rel, "source_format": source.format, "source_bytes": source.path.stat().st_size,
                 "calibrated": False, "t_offset_us": 0, "time_clamped": 0}
        n = clamped = 0
        offset = prev = None
        with EventFileWriter(partial, source=SOURCE, subject=-1, movement=Path(rel).stem, attrs=attrs) as w:
            w.add_camera(cam)
            for chunk in source.chunks():
                if not len(chunk):
                    continue
                t = chunk["t"]
                if offset is None:
                    offset = int(t[0])
                if self.on_time_decrease == "clamp":
                    fixed = np.maximum.accumulate(t if prev is None else np.concatenate([[prev], t]))[-len(t):]
                    clamped += int(np.count_nonzero(fixed != t))
                    chunk["t"] = fixed
                t = chunk["t"]
                if int(t[0]) < offset:  # an early event after the first one: not fixable by the offset
                    raise EventFormatError(source.path, "t", f"timestamp {int(t[0])} at index {n} is before the first "
                                                             f"event's {offset} (on_time_decrease=clamp raises it)")
                chunk["t"] = t - offset
                w.append_events(self.camera, chunk)
                prev = int(t[-1])
                n += len(chunk)
                bar.postfix(f"{n / 1e6:.1f} M events")
            w.set_attrs(t_offset_us=offset or 0, time_clamped=clamped)  # known only now
        return n, clamped

    def _earlier_entries(self, out: Path, this_run: set[str]) -> dict[str, list]:
        """Entries of an existing manifest in ``out`` about files this run does not import
        (kept, so that importing a second folder into the same dataset adds to it)."""
        empty = {"recordings": [], "skipped": [], "failed": []}
        if not (out / MANIFEST_NAME).exists():
            return empty
        previous = load_manifest(out)
        if previous.get("source") != SOURCE:
            raise EvposeInputError(f"{out} holds a {previous.get('source')!r} dataset, not imported recordings; "
                                   "use another out= folder")
        kept = [dict(e) for e in previous["recordings"] if e["path"] not in this_run and (out / e["path"]).is_file()]
        names = {Path(t).with_suffix("").as_posix() for t in this_run}
        return {
            "recordings": kept,
            "skipped": [e for e in previous.get("skipped", []) if Path(e.get("source_file", "")).with_suffix("").as_posix() not in names],
            "failed": [e for e in previous.get("failed", []) if Path(e.get("source_file", "")).with_suffix("").as_posix() not in names],
        }


def _merged(manifest: dict, earlier: dict[str, list]) -> dict:
    return {**manifest, **{k: sorted([*earlier[k], *manifest[k]], key=lambda e: e.get("path", e.get("source_file", "")))
                           for k in earlier}}


def _entry(out: Path, path: Path, split: str) -> dict:
    """The manifest entry of an imported file, from the file."""
    with EventRecording(path, check=False) as r:
        a = r.attrs
        name = r.camera_names[0]
        cam = r.camera(name)
        t0, t1 = r.time_range(name)
        n = r.num_events(name)
    return {
        "path": path.relative_to(out).as_posix(),
        "split": split,
        "source_file": a["source_file"],
        "format": a["source_format"],
        "camera": name,
        "width": cam.width,
        "height": cam.height,
        "num_events": {name: n},
        "duration_us": int(t1 - t0),
        "t_offset_us": int(a["t_offset_us"]),
        "time_clamped": int(a["time_clamped"]),
    }
