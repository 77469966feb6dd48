"""One synthetic recording: its scene from the seed, its simulation, its evpose file.

Randomness: every recording draws from ``SeedSequence(seed, spawn_key=(subject,
crc32(movement)))``, every subject's body from ``SeedSequence(seed, spawn_key=(0,
subject))`` and its room (one lab per subject) from ``(0, subject, 1)``, so a recording does not depend on which other recordings are generated, in
which order, or in which process: the same seed gives the same events, byte for byte
(on the same software and CPU).
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

import h5py
import numpy as np

from .._version import __version__
from ..io import EventFileWriter
from ..types import JOINT_NAMES, PART_NAMES
from .background import sample_room
from .body import Subject, sample_subject
from .cameras import facing_yaw, pair_positions, resolve_cameras, standing_point
from .movements import movement_spec, sample_motion_params
from .presets import SynthConfig, preset_config
from .scene import Actor, Scene
from .simulate import SyntheticRecording, simulate_scene

#: Bumped whenever the same parameters and seed would give different data.
GENERATOR_VERSION = 1
MANIFEST_SOURCE = "synthetic"

_STANDING: dict[bytes, np.ndarray] = {}


def _camera_key(cameras) -> bytes:
    return b"".join(c.P.tobytes() + np.array([c.width, c.height]).tobytes() for c in cameras.values())


def _standing_point(cameras) -> np.ndarray:
    key = _camera_key(cameras)
    if key not in _STANDING:
        _STANDING[key] = standing_point(cameras)
    return _STANDING[key]


_PAIRS: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}


def _pair_positions(cameras, gap: float, spot) -> tuple[np.ndarray, np.ndarray]:
    key = (_camera_key(cameras), float(gap))
    if key not in _PAIRS:
        _PAIRS[key] = pair_positions(cameras, gap, spot)
    return _PAIRS[key]


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=tuple(int(k) for k in key)))


def movement_key(movement: str) -> int:
    """A stable integer for a movement name (seeds do not depend on list order)."""
    return zlib.crc32(movement.encode("utf-8"))


def subject_body(config: SynthConfig, seed: int, subject: int) -> Subject:
    """The body of subject ``subject`` (the same in every recording of that subject)."""
    return sample_subject(_rng(seed, 0, subject), config.height_range, config.girth_range)


def build_scene(config: SynthConfig, seed: int, subject: int, movement: str) -> tuple[Scene, np.random.Generator]:
    """The scene of one recording and the random stream left for the simulation."""
    cameras = resolve_cameras(config.cameras, config.sensor_size)
    rng = _rng(seed, subject, movement_key(movement))
    r_motion, r_place, _, r_light, r_second, r_sim = rng.spawn(6)
    spot = _standing_point(cameras)
    base_yaw = facing_yaw(cameras, spot)

    def place(r, base):
        ang, rad = r.uniform(0, 2 * np.pi), config.position_jitter_mm * np.sqrt(r.random())
        p = np.asarray(base) + rad * np.array([np.cos(ang), np.sin(ang)])
        yaw = base_yaw + np.radians(r.uniform(-1, 1) * config.yaw_jitter_deg)
        return (float(p[0]), float(p[1])), float(yaw)

    bases = [spot]
    if config.num_persons == 2:
        # 0.8 .. 1.1 m apart, placed so that every camera sees both as well as it can
        gap = float(r_second.uniform(800, 1100))
        bases = list(_pair_positions(cameras, round(gap, -1), spot))
    actors = []
    pos, yaw = place(r_place, bases[0])
    body = subject_body(config, seed, subject)
    motion = sample_motion_params(r_motion, config.speed_range, config.amplitude_range)
    actors.append(Actor(body, movement, motion, pos, yaw, person=0))
    if config.num_persons == 2:
        others = [m for m in config.movements if m != movement] or [movement]
        mv2 = others[int(r_second.integers(len(others)))]
        body2 = sample_subject(r_second, config.height_range, config.girth_range)
        motion2 = sample_motion_params(r_second, config.speed_range, config.amplitude_range)
        pos2, yaw2 = place(r_second, bases[1])
        actors.append(Actor(body2, mv2, motion2, pos2, yaw2, person=1))
    el, az = np.radians(r_light.uniform(15, 50)), r_light.uniform(0, 2 * np.pi)
    light = (float(np.sin(el) * np.cos(az)), float(np.sin(el) * np.sin(az)), float(np.cos(el)))
    # one room per subject, like a recording session in one lab
    room = sample_room(_rng(seed, 0, subject, 1), cameras)
    scene = Scene(tuple(actors), cameras, room, light, float(r_light.uniform(0.35, 0.55)))
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
