"""Synthetic recordings and datasets: one recording in memory, or a dataset folder on disk.

Randomness: every recording draws from ``SeedSequence(seed, spawn_key=(subject,
crc32(movement)))`` and every subject's body from ``SeedSequence(seed, spawn_key=(0,
subject))``, so a recording does not depend on which other recordings are generated,
in which order, or on how many worker processes run: the same seed gives the same
events, byte for byte.

Layout: ``<out_dir>/<split>/S{subject:02d}_{movement}.h5`` and ``<out_dir>/manifest.json``
(written last: a folder with a manifest whose files all exist is complete).
"""

from __future__ import annotations

import json
import logging
import os
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

import h5py
import numpy as np

from .. import __version__
from ..io import EventFileWriter
from ..types import JOINT_NAMES, PART_NAMES
from .background import sample_room
from .body import Subject, sample_subject
from .cameras import facing_yaw, resolve_cameras, standing_point
from .motions import movement_spec, sample_motion_params
from .presets import SynthConfig, preset_config
from .scene import Actor, Scene
from .simulate import SyntheticRecording, simulate_scene

log = logging.getLogger(__name__)

#: Bumped whenever the same parameters and seed would give different data.
GENERATOR_VERSION = 1
MANIFEST_SOURCE = "synthetic"

_STANDING: dict[bytes, np.ndarray] = {}


def _standing_point(cameras) -> np.ndarray:
    key = b"".join(c.P.tobytes() + np.array([c.width, c.height]).tobytes() for c in cameras.values())
    if key not in _STANDING:
        _STANDING[key] = standing_point(cameras)
    return _STANDING[key]


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=tuple(int(k) for k in key)))


def movement_key(movement: str) -> int:
    """A stable integer for a movement name (seeds do not depend on list order)."""
    return zlib.crc32(movement.encode("utf-8"))


def make_subject(config: SynthConfig, seed: int, subject: int) -> Subject:
    """The body of subject ``subject`` (the same in every recording of that subject)."""
    return sample_subject(_rng(seed, 0, subject), config.height_range, config.girth_range)


def build_scene(config: SynthConfig, seed: int, subject: int, movement: str) -> tuple[Scene, np.random.Generator]:
    """The scene of one recording and the random stream left for the simulation."""
    cameras = resolve_cameras(config.cameras, config.sensor_size)
    rng = _rng(seed, subject, movement_key(movement))
    r_motion, r_place, r_room, r_light, r_second, r_sim = rng.spawn(6)
    spot = _standing_point(cameras)
    base_yaw = facing_yaw(cameras, spot)

    def place(r, offset):
        ang, rad = r.uniform(0, 2 * np.pi), config.position_jitter_mm * np.sqrt(r.random())
        p = spot + offset + rad * np.array([np.cos(ang), np.sin(ang)])
        yaw = base_yaw + np.radians(r.uniform(-1, 1) * config.yaw_jitter_deg)
        return (float(p[0]), float(p[1])), float(yaw)

    actors = []
    offsets = [np.zeros(2)]
    if config.num_persons == 2:
        # side by side across the facing direction, 0.9 .. 1.3 m apart
        gap = r_second.uniform(900, 1300)
        left = np.array([-np.sin(base_yaw), np.cos(base_yaw)])
        fwd = np.array([np.cos(base_yaw), np.sin(base_yaw)])
        depth = r_second.uniform(-200, 200)
        offsets = [-0.5 * gap * left, 0.5 * gap * left + depth * fwd]
    pos, yaw = place(r_place, offsets[0])
    body = make_subject(config, seed, subject)
    motion = sample_motion_params(r_motion, config.speed_range, config.amplitude_range)
    actors.append(Actor(body, movement, motion, pos, yaw, person=0))
    if config.num_persons == 2:
        others = [m for m in config.movements if m != movement] or [movement]
        mv2 = others[int(r_second.integers(len(others)))]
        body2 = sample_subject(r_second, config.height_range, config.girth_range)
        motion2 = sample_motion_params(r_second, config.speed_range, config.amplitude_range)
        pos2, yaw2 = place(r_second, offsets[1])
        actors.append(Actor(body2, mv2, motion2, pos2, yaw2, person=1))
    el, az = np.radians(r_light.uniform(15, 50)), r_light.uniform(0, 2 * np.pi)
    light = (float(np.sin(el) * np.cos(az)), float(np.sin(el) * np.sin(az)), float(np.cos(el)))
    scene = Scene(tuple(actors), cameras, sample_room(r_room, cameras), light, float(r_light.uniform(0.35, 0.55)))
    return scene, r_sim


def synthesize_recording(
    subject: int = 1,
    movement: str = "walk",
    seed: int = 0,
    config: str | SynthConfig = "demo",
    **overrides,
) -> SyntheticRecording:
    """Simulate one recording in memory (nothing is written).

    Args:
        subject: subject id (its body is the same in every recording of the seed).
        movement: movement name.
        seed: random seed.
        config: preset name or configuration (default ``"demo"``).
        **overrides: parameters of :class:`SynthConfig` to change, e.g. ``duration_s=1``.

    Returns:
        :class:`SyntheticRecording` with per-camera events (t, x, y, p, part, person) and
        the 3D joints of every person at ``pose_rate_hz``.

    Example::

        rec = synthesize_recording(3, "squats", seed=0, duration_s=1.0)
        rec.events["cam2"], rec.joints3d[0]     # (N,) events, (T, 13, 3) mm
    """
    cfg = preset_config(config, **overrides)
    movement_spec(movement)  # an unknown name raises, listing the valid ones
    scene, rng = build_scene(cfg, seed, subject, movement)
    rec = simulate_scene(scene, cfg.duration_s, rng, cfg.event_model(), cfg.pose_rate_hz)
    rec.info.update(seed=int(seed), subject=int(subject), movement=movement)
    return rec


def write_synthetic_recording(path, rec: SyntheticRecording, attrs: dict | None = None) -> int:
    """Write a simulated recording as an evpose event file (atomically: a temporary file
    renamed at the end). People beyond the first keep their joints in ``/persons``.

    Returns:
        the file size in bytes.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    info = rec.info
    file_attrs = {
        "generator": "evpose.synth",
        "generator_version": GENERATOR_VERSION,
        "evpose_version": __version__,
        "seed": int(info.get("seed", -1)),
        "duration_us": int(rec.duration_us),
        "synth": json.dumps(info, sort_keys=True),
        **(attrs or {}),
    }
    with EventFileWriter(
        tmp,
        joint_names=JOINT_NAMES,
        part_names=PART_NAMES,
        source=MANIFEST_SOURCE,
        subject=int(info.get("subject", -1)),
        movement=str(info.get("movement", "")),
        attrs=file_attrs,
    ) as w:
        for name, cam in rec.cameras.items():
            w.add_camera(cam, labels=("part", "person"))
            ev = rec.events[name]
            for i in range(0, len(ev), 1 << 20):
                w.append_events(name, ev[i : i + (1 << 20)])
        w.write_poses(rec.pose_t, rec.joints3d[0])
    if rec.joints3d.shape[0] > 1:
        with h5py.File(tmp, "a") as f:
            g = f.create_group("persons")
            g.attrs["description"] = "joints3d of every person in the scene (person id order); /poses is person 0"
            g.create_dataset("t", data=rec.pose_t)
            g.create_dataset("joints3d", data=rec.joints3d.astype(np.float32), compression="gzip", compression_opts=1)
    os.replace(tmp, path)
    return path.stat().st_size


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
    from ..data.manifest import write_manifest

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
        from ..cli._hydra import project_root

        data_dir = project_root() / "data"
    root = Path(data_dir) / "synth" / "demo"
    config = preset_config("demo")
    state = dataset_state(root, config, seed)
    if state in ("complete", "different"):
        return root
    return generate_dataset(root, "demo", seed=seed, num_workers=num_workers, overwrite=True, progress=progress)
