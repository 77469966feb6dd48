"""Named movements in the spirit of DHP19's 33 and their per-recording randomisation.

A *movement* is a motion type (:mod:`evpose.synth.motions`) with fixed variant options
and a cadence factor (``wave_left`` = ``wave`` with ``side="left"``); dataset files are
named after movements. Every recording draws :class:`MotionParams`: speed (factor on the
cadence), amplitude (factor on the excursions), a start phase and a slow tempo wobble:
``theta(t) = phase + speed * (2 pi f0 t + wobble sin(2 pi f_w t + phi_w))``, so a speed of
0 gives a still body.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping

import numpy as np

from .motions import MOTION_TYPES, MotionType
from .skeleton import Skeleton

#: Named movements: (motion type, variant options, cadence factor). The first block
#: (one per motion type, default options) is the demo set; all 33 make the full set.
MOVEMENTS: dict[str, tuple[str, dict, float]] = {
    "walk": ("walk", {}, 1.0),
    "jog": ("jog", {}, 1.0),
    "high_knees": ("high_knees", {}, 1.0),
    "arm_circles": ("arm_circles", {}, 1.0),
    "jumping_jacks": ("jumping_jacks", {}, 1.0),
    "squats": ("squats", {}, 1.0),
    "punches": ("punches", {}, 1.0),
    "kicks": ("kicks", {}, 1.0),
    "wave": ("wave", {}, 1.0),
    "toe_touch": ("toe_touch", {}, 1.0),
    "side_lunges": ("side_lunges", {}, 1.0),
    "clapping": ("clapping", {}, 1.0),
    "arm_raises": ("arm_raises", {}, 1.0),
    "torso_twist": ("torso_twist", {}, 1.0),
    # variants (full preset)
    "walk_slow": ("walk", {}, 0.7),
    "jog_fast": ("jog", {}, 1.3),
    "arm_circles_backward": ("arm_circles", {"direction": -1.0}, 1.0),
    "arm_circles_fast": ("arm_circles", {}, 1.5),
    "jumping_jacks_fast": ("jumping_jacks", {}, 1.35),
    "squats_fast": ("squats", {}, 1.6),
    "punches_fast": ("punches", {}, 1.5),
    "uppercuts": ("punches", {"uppercut": True}, 1.0),
    "kick_right": ("kicks", {"side": "right"}, 1.2),
    "kick_left": ("kicks", {"side": "left"}, 1.2),
    "wave_left": ("wave", {"side": "left"}, 1.0),
    "wave_both": ("wave", {"side": "both"}, 1.0),
    "toe_touch_fast": ("toe_touch", {}, 1.6),
    "side_lunges_fast": ("side_lunges", {}, 1.5),
    "clapping_overhead": ("clapping", {"overhead": True}, 1.0),
    "clapping_fast": ("clapping", {}, 1.5),
    "arm_raises_front": ("arm_raises", {"plane": "front"}, 1.0),
    "arm_raises_fast": ("arm_raises", {}, 1.6),
    "torso_twist_fast": ("torso_twist", {}, 1.5),
}
#: One movement per motion type (the demo set).
BASIC_MOVEMENTS: tuple[str, ...] = tuple(n for n in MOVEMENTS if n == MOVEMENTS[n][0])
#: Movements that exist for tests and checks but are not in the presets.
EXTRA_MOVEMENTS: dict[str, tuple[str, dict, float]] = {"static": ("static", {}, 1.0)}


def movement_spec(name: str) -> tuple[MotionType, dict, float]:
    """(motion type, variant options, cadence factor) of a movement name."""
    spec = MOVEMENTS.get(name) or EXTRA_MOVEMENTS.get(name)
    if spec is None:
        valid = ", ".join(list(MOVEMENTS) + list(EXTRA_MOVEMENTS))
        raise ValueError(f"unknown movement {name!r}; valid: {valid}")
    return MOTION_TYPES[spec[0]], dict(spec[1]), float(spec[2])


@dataclass(frozen=True)
class MotionParams:
    """Per-recording randomisation of a movement.

    Args:
        speed: factor on the movement's cadence (0: frozen at ``phase``) (default 1).
        amplitude: factor on the angle excursions (default 1).
        phase: phase at t = 0, radians (default 0).
        wobble: amplitude of the slow tempo variation, radians of phase (default 0).
        wobble_hz: frequency of the tempo variation (default 0.3).
        wobble_phase: its phase, radians (default 0).
    """

    speed: float = 1.0
    amplitude: float = 1.0
    phase: float = 0.0
    wobble: float = 0.0
    wobble_hz: float = 0.3
    wobble_phase: float = 0.0

    def to_dict(self) -> dict:
        return {k: float(v) for k, v in asdict(self).items()}


def sample_motion_params(
    rng: np.random.Generator,
    speed_range: tuple[float, float] = (0.8, 1.25),
    amplitude_range: tuple[float, float] = (0.8, 1.1),
) -> MotionParams:
    """Random speed, amplitude, phase and tempo wobble of one recording.

    Args:
        rng: random generator.
        speed_range: uniform range of the cadence factor (default 0.8 .. 1.25).
        amplitude_range: uniform range of the amplitude factor (default 0.8 .. 1.1).
    """
    return MotionParams(
        speed=float(rng.uniform(*speed_range)),
        amplitude=float(rng.uniform(*amplitude_range)),
        phase=float(rng.uniform(0, 2 * np.pi)),
        wobble=float(rng.uniform(0.0, 0.4)),
        wobble_hz=float(rng.uniform(0.15, 0.4)),
        wobble_phase=float(rng.uniform(0, 2 * np.pi)),
    )


def motion_phase(t_s: np.ndarray, base_hz: float, params: MotionParams) -> np.ndarray:
    """Phase theta(t) of a motion (radians).

    Shapes:
        t_s: (T,) seconds -> (T,)
    """
    t_s = np.asarray(t_s, dtype=np.float64)
    w = params.wobble * np.sin(2 * np.pi * params.wobble_hz * t_s + params.wobble_phase)
    return params.phase + params.speed * (2 * np.pi * base_hz * t_s + w)


def movement_angles(
    name: str, t_s: np.ndarray, params: MotionParams, skeleton: Skeleton
) -> Mapping[str, np.ndarray]:
    """Joint angles of a movement at times ``t_s`` (seconds).

    Shapes:
        t_s: (T,) -> every angle (T,)
    """
    mtype, variant, cadence = movement_spec(name)
    theta = motion_phase(t_s, mtype.base_hz * cadence, params)
    return mtype.fn(theta, float(params.amplitude), skeleton, **variant)
