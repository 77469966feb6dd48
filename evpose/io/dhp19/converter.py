"""Convert a whole DHP19 tree into an evpose dataset folder (``evpose-convert-dhp19``).

Output::

    <out>/manifest.json                              parameters, recordings, skipped, failed
    <out>/train/S01_session1_mov1.h5                 subjects 1..12
    <out>/test/S13_session1_mov1.h5                  subjects 13..17

Resumable: a recording is written to ``<name>.h5.partial`` and renamed when complete,
so an existing ``<name>.h5`` is a finished conversion and is kept (its filters must
match the requested ones, else the run stops before converting anything). The
manifest is rewritten after every recording. A recording that fails is logged, listed
under ``failed`` and the run goes on; known corrupt recordings are listed under
``skipped`` with the reason.

Runs add up: converting ``movements=[1]`` and then ``movements=[2]`` into one folder
gives a manifest of both. The entries of the recordings a run does not touch are kept
(their files must be there, and converted with the same filters), and the splits of
all follow the latest run's subjects.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Iterable

from ..._version import __version__
from ..manifest import MANIFEST_NAME, load_manifest, write_manifest
from ..progress import ByteProgress
from ..recording import EventRecording
from .filters import DHP19Filters
from .layout import (
    CAMERA_OF_ADDRESS,
    KNOWN_CAVEATS,
    KNOWN_CORRUPT,
    TEST_SUBJECTS,
    TRAIN_SUBJECTS,
    DHP19Recording,
    split_of,
    walk_dhp19,
)
from .recording import convert_recording
from .sync import SkipRecording

log = logging.getLogger(__name__)

PARTIAL_SUFFIX = ".partial"
#: The passes over each ``.aedat`` (scan, hot pixels, write), for the progress bar.
PASSES = 3


class DHP19Converter:
    """Convert the DHP19 recordings of a folder tree into evpose files.

    Args:
        filters: DHP19's filters to apply (default all of them with DHP19's parameters).
        subjects: subjects to convert (default None: all present of 1..17).
        sessions: sessions to convert (default None: 1..5).
        movements: movement numbers to convert (default None: all).
        train_subjects: subjects of the train split (default 1..12).
        test_subjects: subjects of the test split (default 13..17).
        val_subjects: subjects of a validation split (default none).
        skip_known_corrupt: skip S4 session3 mov4 and mov6 without reading them (default
            True; they would be skipped anyway once their >700 special events are seen).
        skip_uncertain: skip recordings without special events instead of converting them
            with the flag ``alignment_uncertain`` (default False).
        overwrite: convert again recordings already converted (default False).
        chunk_records: AEDAT records per chunk (default 2**18 = 2 MiB; bounds memory).
        progress: show a progress bar (tqdm when installed, else log lines) (default True).
    """

    def __init__(
        self,
        filters: DHP19Filters | None = None,
        subjects: Iterable[int] | None = None,
        sessions: Iterable[int] | None = None,
        movements: Iterable[int] | None = None,
        train_subjects: Iterable[int] = TRAIN_SUBJECTS,
        test_subjects: Iterable[int] = TEST_SUBJECTS,
        val_subjects: Iterable[int] = (),
        skip_known_corrupt: bool = True,
        skip_uncertain: bool = False,
        overwrite: bool = False,
        chunk_records: int = 1 << 18,
        progress: bool = True,
    ):
        self.filters = filters if filters is not None else DHP19Filters()
        as_list = lambda v: None if v is None else [int(i) for i in v]  # noqa: E731
        self.subjects, self.sessions, self.movements = as_list(subjects), as_list(sessions), as_list(movements)
        self.train_subjects = as_list(train_subjects)
        self.test_subjects = as_list(test_subjects)
        self.val_subjects = as_list(val_subjects)
        overlap = set(self.train_subjects) & set(self.test_subjects) | set(self.val_subjects) & (
            set(self.train_subjects) | set(self.test_subjects)
        )
        if overlap:
            raise ValueError(f"subjects {sorted(overlap)} are in more than one split")
        self.skip_known_corrupt = bool(skip_known_corrupt)
        self.skip_uncertain = bool(skip_uncertain)
        self.overwrite = bool(overwrite)
        self.chunk_records = int(chunk_records)
        self.progress = bool(progress)

    def parameters(self, root) -> dict:
        """Everything that decides the output (recorded in the manifest)."""
        return {
            "root": str(Path(root).resolve()),
            "filters": self.filters.to_dict(),
            "subjects": self.subjects,
            "sessions": self.sessions,
            "movements": self.movements,
            "train_subjects": self.train_subjects,
            "val_subjects": self.val_subjects,
            "test_subjects": self.test_subjects,
            "skip_known_corrupt": self.skip_known_corrupt,
            "skip_uncertain": self.skip_uncertain,
            "camera_of_address": list(CAMERA_OF_ADDRESS),
            "converter": f"evpose {__version__}",
        }

    # ------------------------------------------------------------------ run
    def run(self, root, out) -> dict:
        """Convert ``root`` (holding ``DVS_movies/`` and ``Vicon_data/``) into ``out``.

        Returns:
            The manifest written to ``<out>/manifest.json``.
        """
        root, out = Path(root), Path(out)
        recordings, missing = walk_dhp19(root, self.subjects, self.sessions, self.movements)
        if missing:
            log.warning("%d movement(s) lack a file and are skipped (listed in the manifest), e.g. %s",
                        len(missing), missing[0]["reason"])
            for m in missing:
                log.debug("S%s session%s mov%s: skipped: %s", m["subject"], m["session"], m["movement"], m["reason"])
        plan = [(r, out / split_of(r.subject, self.train_subjects, self.test_subjects, self.val_subjects) / f"{r.name}.h5")
                for r in recordings]
        for _, path in plan:  # left by an interrupted run (only this run's: others may run beside it)
            for split in ("train", "val", "test"):
                (out / split / (path.name + PARTIAL_SUFFIX)).unlink(missing_ok=True)
        for _, path in plan:  # splits changed since a previous run: move, do not convert again
            for other in ("train", "val", "test"):
                moved = out / other / path.name
                if other != path.parent.name and moved.exists() and not path.exists():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    moved.replace(path)
                    log.info("%s: moved to the %s split", moved, path.parent.name)
        if not self.overwrite:
            self._check_previous(plan)
        earlier = self._earlier_entries(out, plan, missing)
        manifest = {
            "source": "dhp19",
            "parameters": self.parameters(root),
            "recordings": [],
            "skipped": [dict(m) for m in missing],
            "failed": [],
        }
        bar = ByteProgress(sum(r.aedat.stat().st_size for r in recordings) * PASSES, desc="DHP19", enabled=self.progress,
                          passes=PASSES)
        t_start = time.perf_counter()
        try:
            for k, (rec, path) in enumerate(plan, start=1):
                label = f"[{k}/{len(plan)}] {rec.name}"
                bar.describe(rec.name)
                size = rec.aedat.stat().st_size * PASSES
                where = {"subject": rec.subject, "session": rec.session, "movement": rec.movement, "aedat": str(rec.aedat)}
                if self.skip_known_corrupt and rec.key in KNOWN_CORRUPT:
                    reason = KNOWN_CORRUPT[rec.key]
                    log.warning("%s: skipped: %s", label, reason)
                    manifest["skipped"].append({**where, "reason": reason})
                    bar.update(size)
                elif path.exists() and not self.overwrite:
                    manifest["recordings"].append(_entry(out, path, rec))
                    bar.update(size)
                    log.info("%s: already converted, kept", label)
                else:
                    self._convert_one(rec, out, path, label, manifest, where, bar, size)
                write_manifest(out, _merged(manifest, earlier))
        finally:
            bar.close()
        manifest = _merged(manifest, earlier)
        write_manifest(out, manifest)
        log.info(
            "DHP19 conversion: %d recordings in %s, %d skipped, %d failed (%.0f s)",
            len(manifest["recordings"]), out, len(manifest["skipped"]), len(manifest["failed"]),
            time.perf_counter() - t_start,
        )
        return manifest

    def _convert_one(self, rec: DHP19Recording, out: Path, path: Path, label: str, manifest, where, bar, size) -> None:
        partial = path.with_name(path.name + PARTIAL_SUFFIX)
        done = 0

        def tick(n):
            nonlocal done
            done += n
            bar.update(n)

        t0 = time.perf_counter()
        try:
            convert_recording(
                rec.aedat, rec.vicon, partial, rec.subject, rec.session, rec.movement,
                filters=self.filters, chunk_records=self.chunk_records, on_bytes=tick,
                allow_uncertain=not self.skip_uncertain,
                attrs={"aedat_file": _relative(rec.aedat), "vicon_file": _relative(rec.vicon)},
            )
            partial.replace(path)
        except SkipRecording as e:
            log.warning("%s: skipped: %s", label, e)
            manifest["skipped"].append({**where, "reason": str(e)})
        except Exception as e:  # one bad recording must not stop the others
            log.error("%s: failed: %s: %s", label, type(e).__name__, e)
            log.debug("traceback", exc_info=True)
            manifest["failed"].append({**where, "error": f"{type(e).__name__}: {e}"})
        else:
            entry = _entry(out, path, rec)
            manifest["recordings"].append(entry)
            caveat = KNOWN_CAVEATS.get(rec.key)
            log.info(
                "%s: %d events in %.1f s -> %s%s", label, sum(entry["num_events"].values()),
                time.perf_counter() - t0, path, f" ({caveat})" if caveat else "",
            )
        finally:
            partial.unlink(missing_ok=True)
            bar.update(max(size - done, 0))

    def _earlier_entries(self, out: Path, plan, missing) -> dict[str, list]:
        """The entries of ``<out>/manifest.json`` about recordings this run does not touch
        (kept: the manifest lists every recording of the folder), moved to the split this
        run's subjects give them.

        Raises:
            ValueError: the folder holds another kind of dataset, or recordings converted
                with other filters.
        """
        empty = {"recordings": [], "skipped": [], "failed": []}
        if not (out / MANIFEST_NAME).exists():
            return empty
        previous = load_manifest(out)
        if previous.get("source") != "dhp19":
            raise ValueError(f"{out} holds a {previous.get('source')!r} dataset, not converted DHP19; use another out= folder")
        this_run = {(r.subject, r.session, r.movement) for r, _ in plan} | {_key(m) for m in missing}
        kept = []
        for entry in previous["recordings"]:
            if _key(entry) in this_run:
                continue
            if not (out / entry["path"]).is_file():
                log.warning("%s: listed by the previous manifest but missing; dropped from the manifest", out / entry["path"])
                continue
            kept.append(dict(entry))
        want = self.filters.to_dict()
        got = (previous.get("parameters") or {}).get("filters")
        if kept and got != want:
            raise ValueError(
                f"{out} holds recordings converted with filters {got} (e.g. {kept[0]['path']}), not the requested {want}; "
                "use another out= folder, or convert those recordings again with these filters"
            )
        for entry in kept:
            try:
                split = split_of(entry["subject"], self.train_subjects, self.test_subjects, self.val_subjects)
            except ValueError:  # a subject of no split now: it stays where it is
                continue
            if split != entry["split"]:
                src = out / entry["path"]
                dst = out / split / src.name
                dst.parent.mkdir(parents=True, exist_ok=True)
                src.replace(dst)
                log.info("%s: moved to the %s split", src, split)
                entry.update(path=dst.relative_to(out).as_posix(), split=split)
        return {
            "recordings": kept,
            "skipped": [e for e in previous.get("skipped", []) if _key(e) not in this_run],
            "failed": [e for e in previous.get("failed", []) if _key(e) not in this_run],
        }

    def _check_previous(self, plan) -> None:
        """Refuse to mix files converted with other filters into one dataset."""
        want = self.filters.to_dict()
        for rec, path in plan:
            if not path.exists():
                continue
            try:
                with EventRecording(path, check=False) as r:
                    got = r.attrs.get("filters")
            except Exception as e:  # damaged: convert it again
                log.warning("%s: unreadable (%s); it will be converted again", path, e)
                path.unlink()
                continue
            if got != want:
                raise ValueError(
                    f"{path} was converted with filters {got}, not the requested {want}; "
                    "use another out= folder, or overwrite=true to convert everything again"
                )


def _key(entry: dict) -> tuple:
    return (entry.get("subject"), entry.get("session"), entry.get("movement"))


def _merged(manifest: dict, earlier: dict[str, list]) -> dict:
    """This run's manifest with the earlier entries it keeps, each list in DHP19's order."""
    order = lambda e: tuple(-1 if v is None else int(v) for v in _key(e))  # noqa: E731
    return {**manifest, **{k: sorted([*earlier[k], *manifest[k]], key=order) for k in earlier}}


def _entry(out: Path, path: Path, rec: DHP19Recording) -> dict:
    """The manifest entry of a converted file, from its attributes."""
    with EventRecording(path, check=False) as r:
        a = r.attrs
        num_events = {name: r.num_events(name) for name in r.camera_names}
    return {
        "path": path.relative_to(out).as_posix(),
        "split": path.parent.name,
        "subject": rec.subject,
        "session": rec.session,
        "movement": rec.movement,
        "duration_us": int(a["movement_stop_us"]),
        "t_offset_us": int(a["t_offset_us"]),
        "num_events": num_events,
        "num_vicon_samples": int(a["num_vicon_samples"]),
        "sync_rule": a["sync_rule"],
        "alignment_uncertain": bool(a["alignment_uncertain"]),
        "timestamp_wrapped": bool(a["timestamp_wrapped"]),
    }


def _relative(p: Path) -> str:
    """``DVS_movies/S1/session1/mov1.aedat`` style path (relative to the DHP19 root)."""
    parts = p.parts
    for anchor in ("DVS_movies", "Vicon_data"):
        if anchor in parts:
            return Path(*parts[parts.index(anchor) :]).as_posix()
    return p.name
