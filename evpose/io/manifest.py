"""Dataset folders: ``<root>/manifest.json`` lists the recordings and their split.

Schema (written by ``evpose-synth``, ``evpose-convert-dhp19`` and ``evpose-import``)::

    {
      "format": "evpose-dataset", "version": 1,
      "source": "synthetic",                    # or "dhp19", "import"
      "parameters": {...},                      # every generation / conversion parameter
      "recordings": [
        {"path": "train/S01_walk.h5", "split": "train", "subject": 1, "movement": "walk", ...},
        ...
      ]
    }

Paths are relative to the root. Splits are by subject (like DHP19); imported recordings,
which have no subject, by a hash of their file name.

A dataset folder is closed: every path must resolve (symbolic links followed) to a file
inside the root, and no recording may be listed twice; a manifest that breaks either
rule is refused as a whole (:class:`DatasetError` naming the entries), never half used.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath, PureWindowsPath

from ..errors import EvposeInputError

MANIFEST_NAME = "manifest.json"
DATASET_FORMAT = "evpose-dataset"
SPLITS = ("train", "val", "test")
#: How to make a dataset folder, for messages.
HOW_TO_MAKE = (
    "generate the synthetic demo data with `evpose-synth` (data/synth/demo; `evpose-synth out_dir=<folder>` "
    "elsewhere), convert DHP19 with `evpose-convert-dhp19 root=<DHP19> out=<folder>`, or import recordings "
    "of other formats with `evpose-import <file or folder> out=<folder>` (see data/README.md)"
)


class DatasetError(EvposeInputError, ValueError):
    """A dataset folder or its manifest that evpose refuses (the message names the file and entries)."""


class NoDatasetError(DatasetError, FileNotFoundError):
    """A folder without ``manifest.json``."""


def load_manifest(root) -> dict:
    """Read and check ``<root>/manifest.json``.

    Raises:
        NoDatasetError: no manifest (the message says how to make one).
        DatasetError: not JSON, another format, a malformed entry, a path that leaves the
            folder (absolute, ``..``, or a symbolic link to elsewhere), or a recording
            listed twice (naming both entries).
    """
    root = Path(root)
    path = root / MANIFEST_NAME
    if not path.is_file():
        what = "does not exist" if not root.exists() else ("is empty" if root.is_dir() and not any(root.iterdir()) else "holds no manifest.json")
        raise NoDatasetError(f"{root}: no evpose dataset here (the folder {what}); {HOW_TO_MAKE}")
    try:
        m = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(m, dict) or m.get("format") != DATASET_FORMAT:
        got = m.get("format") if isinstance(m, dict) else type(m).__name__
        raise DatasetError(f"{path}: format is {got!r}, expected {DATASET_FORMAT!r}")
    recs = m.get("recordings")
    if not isinstance(recs, list):
        raise DatasetError(f"{path}: 'recordings' must be a list")
    inside = root.resolve()
    seen: dict[Path, int] = {}
    for i, r in enumerate(recs):
        if not isinstance(r, dict):
            raise DatasetError(f"{path}: recordings[{i}] is a {type(r).__name__}, expected an object")
        for key in ("path", "split"):
            if key not in r:
                raise DatasetError(f"{path}: recordings[{i}] lacks {key!r}")
        if r["split"] not in SPLITS:
            raise DatasetError(f"{path}: recordings[{i}].split is {r['split']!r}; valid: {', '.join(SPLITS)}")
        where = resolve_entry(root, r["path"], f"{path}: recordings[{i}].path", inside)
        if where in seen:
            j = seen[where]
            raise DatasetError(
                f"{path}: recordings[{j}] ({recs[j]['path']!r}) and recordings[{i}] ({r['path']!r}) are the same "
                f"recording ({where}); a recording may be listed once"
            )
        seen[where] = i
    return m


def resolve_entry(root, rel, what: str = "path", inside: Path | None = None) -> Path:
    """The file a manifest path names, resolved (links followed), checked to lie in ``root``.

    Args:
        root: the dataset folder.
        rel: the manifest's path, relative to the root with ``/`` separators.
        what: how to name the entry in messages.
        inside: ``root`` resolved (pass it when resolving many entries).

    Raises:
        DatasetError: not a string, absolute, or resolving outside the root.
    """
    if not isinstance(rel, str) or not rel:
        raise DatasetError(f"{what} is {rel!r}, expected a relative path like 'train/S01_walk.h5'")
    if PurePosixPath(rel).is_absolute() or PureWindowsPath(rel).is_absolute() or PureWindowsPath(rel).drive:
        raise DatasetError(f"{what} is {rel!r}: an absolute path; paths are relative to the dataset folder")
    inside = Path(root).resolve() if inside is None else inside
    target = (inside / rel).resolve()
    if target != inside and inside not in target.parents:
        link = " (through a symbolic link)" if ".." not in PurePosixPath(rel).parts else ""
        raise DatasetError(f"{what} is {rel!r}: it resolves to {target}{link}, outside the dataset folder {inside}")
    return target


def write_manifest(root, manifest: dict) -> Path:
    """Write ``<root>/manifest.json`` (sorted keys, indented, stable for diffs), atomically."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    m = {"format": DATASET_FORMAT, "version": 1, **manifest}
    path = root / MANIFEST_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def split_recordings(root, split: str | None) -> list[Path]:
    """Paths of the recordings of one split (all splits for None), checked by :func:`load_manifest`."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    root = Path(root)
    m = load_manifest(root)
    return [root / r["path"] for r in m["recordings"] if split is None or r["split"] == split]
