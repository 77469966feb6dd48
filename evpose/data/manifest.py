"""Dataset folders: ``<root>/manifest.json`` lists the recordings and their split.

Schema (written by ``evpose-synth`` and ``evpose-convert-dhp19``)::

    {
      "format": "evpose-dataset", "version": 1,
      "source": "synthetic",                    # or "dhp19", ...
      "parameters": {...},                      # every generation / conversion parameter
      "recordings": [
        {"path": "train/S01_walk.h5", "split": "train", "subject": 1, "movement": "walk", ...},
        ...
      ]
    }

Paths are relative to the root. Splits are by subject (like DHP19).
"""

from __future__ import annotations

import json
from pathlib import Path

MANIFEST_NAME = "manifest.json"
DATASET_FORMAT = "evpose-dataset"
SPLITS = ("train", "val", "test")


def load_manifest(root) -> dict:
    """Read and check ``<root>/manifest.json``."""
    root = Path(root)
    path = root / MANIFEST_NAME
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: no dataset manifest. Generate the synthetic data with `evpose-synth` "
            f"or convert DHP19 with `evpose-convert-dhp19` (see data/README.md)."
        )
    try:
        m = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if m.get("format") != DATASET_FORMAT:
        raise ValueError(f"{path}: format is {m.get('format')!r}, expected {DATASET_FORMAT!r}")
    recs = m.get("recordings")
    if not isinstance(recs, list):
        raise ValueError(f"{path}: 'recordings' must be a list")
    for i, r in enumerate(recs):
        for key in ("path", "split"):
            if key not in r:
                raise ValueError(f"{path}: recordings[{i}] lacks {key!r}")
        if r["split"] not in SPLITS:
            raise ValueError(f"{path}: recordings[{i}].split is {r['split']!r}; valid: {', '.join(SPLITS)}")
    return m


def write_manifest(root, manifest: dict) -> Path:
    """Write ``<root>/manifest.json`` (sorted keys, indented, stable for diffs)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    m = {"format": DATASET_FORMAT, "version": 1, **manifest}
    path = root / MANIFEST_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


def split_recordings(root, split: str | None) -> list[Path]:
    """Absolute paths of the recordings of one split (all splits for None)."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    root = Path(root)
    m = load_manifest(root)
    return [root / r["path"] for r in m["recordings"] if split is None or r["split"] == split]
