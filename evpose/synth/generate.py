"""Synthetic dataset folders: every (subject, movement) recording, split by subject, and a manifest.

Layout: ``<out_dir>/<split>/S{subject:02d}_{movement}.h5`` and ``<out_dir>/manifest.json``
(written last: a folder with a manifest whose files all exist is complete). Recordings
are made in worker processes; each is seeded on its own (:mod:`evpose.synth.recording`),
so the data does not depend on the number of workers.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

from .._version import __version__
from ..io.manifest import write_manifest
from ..paths import project_root
from .movements import movement_spec
from .presets import SynthConfig, preset_config
from .recording import GENERATOR_VERSION, MANIFEST_SOURCE, synthesize_recording, write_synthetic_recording


def recording_path(subject: int, movement: str, split: str) -> str:
    """Path of a recording relative to the dataset root."""
    return f"{split}/S{int(subject):02d}_{movement}.h5"


def _task(args) -> dict:
    cfg_dict, seed, subject, movement, split, root = args
    t0 = time.perf_counter()
    cfg = SynthConfig(**cfg_dict)
    rec = synthesize_recording(subject, movement, seed, cfg)
    t_sim = time.perf_counter() - t0
    rel = recording_path(subject, movement, split)
    size = write_synthetic_recording(Path(root) / rel, rec)
    return {
        "path": rel,
        "split": split,
        "subject": int(subject),
        "movement": movement,
        "duration_s": rec.duration_us / 1e6,
        "num_events": rec.num_events,
        "num_noise": {k: int(v) for k, v in rec.info["num_noise"].items()},
        "num_persons": int(rec.joints3d.shape[0]),
        "persons": [
            {
                "movement": a["movement"],
                "height_mm": round(a["height_mm"], 1),
                "speed": round(a["motion"]["speed"], 4),
                "amplitude": round(a["motion"]["amplitude"], 4),
            }
            for a in rec.info["actors"]
        ],
        "render_instants": rec.info["render_instants"],
        "bytes": int(size),
        "seconds": {"simulate": round(t_sim, 3), "total": round(time.perf_counter() - t0, 3)},
    }


def _cadence(movement: str) -> float:
    mtype, _, factor = movement_spec(movement)
    return mtype.base_hz * factor


def manifest_parameters(config: SynthConfig, seed: int) -> dict:
    """The ``parameters`` block of a manifest: every generation parameter and the seed."""
    return {**config.to_dict(), "seed": int(seed), "generator_version": GENERATOR_VERSION}


def dataset_state(out_dir, config: SynthConfig, seed: int) -> str:
    """``"complete"`` (same parameters, every file present with its recorded size),
    ``"different"`` (a complete dataset of other parameters), ``"incomplete"`` (a
    manifest whose files are missing), or ``"missing"`` (no manifest)."""
    root = Path(out_dir)
    path = root / "manifest.json"
    if not path.exists():
        return "missing"
    try:
        m = json.loads(path.read_text())
    except json.JSONDecodeError:
        return "incomplete"
    for r in m.get("recordings", []):
        f = root / r.get("path", "")
        if not f.is_file() or ("bytes" in r and f.stat().st_size != r["bytes"]):
            return "incomplete"
    if _normalise(m.get("parameters")) != _normalise(manifest_parameters(config, seed)):
        return "different"
    return "complete"


def _normalise(v):
    return json.loads(json.dumps(v, sort_keys=True))


def generate_dataset(
    out_dir,
    preset: str | SynthConfig = "demo",
    seed: int = 0,
    num_workers: int = 2,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = print,
    **overrides,
) -> Path:
    """Generate a synthetic dataset folder (or find it already there).

    Args:
        out_dir: dataset root.
        preset: ``"demo"``, ``"full"`` or a :class:`SynthConfig` (default ``"demo"``).
        seed: random seed (default 0).
        num_workers: worker processes (default 2; 1 runs in this process). The data
            does not depend on it.
        overwrite: regenerate even when the folder holds this dataset, and replace a
            dataset of other parameters (its recordings listed in its manifest are
            deleted) (default False).
        progress: called with one line per finished recording (default print; None: quiet).
        **overrides: :class:`SynthConfig` parameters to change (None keeps the preset's).

    Returns:
        the dataset root.

    Raises:
        FileExistsError: the folder holds a dataset of other parameters and
            ``overwrite`` is False.
    """
    say = progress or (lambda s: None)
    config = preset_config(preset, **overrides)
    root = Path(out_dir)
    state = dataset_state(root, config, seed)
    if state == "complete" and not overwrite:
        say(f"evpose-synth: {root} already holds this dataset (same parameters and seed); nothing to do "
            f"(overwrite=true regenerates it)")  # fmt: skip
        return root
    if state == "different" and not overwrite:
        raise FileExistsError(
            f"{root} holds a synthetic dataset made with other parameters; pass overwrite=true to replace it "
            f"or choose another out_dir"
        )
    if state in ("different", "incomplete", "complete"):
        _remove_listed(root)
    tasks = []
    for subject in config.subjects:
        split = config.split_of(subject)
        for mv in config.movements:
            tasks.append((config.to_dict(), int(seed), subject, mv, split, str(root)))
    # the busiest movements first, so that the workers finish together
    tasks.sort(key=lambda t: -_cadence(t[3]))
    for split in {t[4] for t in tasks}:
        (root / split).mkdir(parents=True, exist_ok=True)
    say(f"evpose-synth: {len(tasks)} recordings x {config.duration_s:g} s, "
        f"{len(config.subjects)} subjects, {len(config.movements)} movements, seed {seed}, "
        f"{num_workers} worker(s) -> {root}")  # fmt: skip
    t0 = time.perf_counter()
    results = []

    def done(r):
        results.append(r)
        n = sum(r["num_events"].values())
        say(f"  [{len(results):3d}/{len(tasks)}] {r['path']}: {n / 1e6:.2f} M events "
            f"({r['seconds']['total']:.1f} s)")  # fmt: skip

    if num_workers <= 1:
        for t in tasks:
            done(_task(t))
    else:
        with ProcessPoolExecutor(max_workers=int(num_workers), mp_context=get_context("spawn")) as ex:
            for r in ex.map(_task, tasks):
                done(r)
    results.sort(key=lambda r: (r["split"], r["subject"], r["movement"]))
    wall = time.perf_counter() - t0
    write_manifest(
        root,
        {
            "source": MANIFEST_SOURCE,
            "parameters": manifest_parameters(config, seed),
            "preset": preset if isinstance(preset, str) else None,
            "recordings": results,
            "generation": {"wall_s": round(wall, 2), "num_workers": int(num_workers), "evpose_version": __version__},
        },
    )
    total = sum(sum(r["num_events"].values()) for r in results)
    say(f"evpose-synth: wrote {len(results)} recordings, {total / 1e6:.1f} M events in {wall:.1f} s -> {root}")
    return root


def _remove_listed(root: Path) -> None:
    """Delete the recordings an existing manifest lists (and the manifest), nothing else."""
    path = root / "manifest.json"
    try:
        m = json.loads(path.read_text())
        for r in m.get("recordings", []):
            f = (root / r["path"]).resolve()
            if root.resolve() in f.parents and f.suffix == ".h5":
                f.unlink(missing_ok=True)
    except (OSError, json.JSONDecodeError, KeyError, TypeError):
        pass
    path.unlink(missing_ok=True)


def ensure_demo_data(data_dir=None, seed: int = 0, num_workers: int = 2, progress=print) -> Path:
    """The demo dataset's folder, generating it first when it is not there.

    Args:
        data_dir: the data folder (default ``<repo>/data``, as Hydra's ``paths.data_dir``).
        seed: seed used if it has to be generated (default 0).
        num_workers: worker processes used if it has to be generated (default 2).
        progress: progress printer (default print; None: quiet).

    Returns:
        ``<data_dir>/synth/demo``. A complete dataset already there is used as is, whatever
        its seed; an incomplete one is regenerated.
    """
    if data_dir is None:
        data_dir = project_root() / "data"
    root = Path(data_dir) / "synth" / "demo"
    config = preset_config("demo")
    state = dataset_state(root, config, seed)
    if state in ("complete", "different"):
        return root
    return generate_dataset(root, "demo", seed=seed, num_workers=num_workers, overwrite=True, progress=progress)
