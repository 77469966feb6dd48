"""Motion types: joint angles as smooth periodic functions of a phase.

A *motion type* (``walk``, ``squats``, ...) maps a phase ``theta`` (one cycle per
``2 pi``) and an amplitude factor to joint angles (see :mod:`evpose.synth.skeleton`);
every one is infinitely differentiable in ``theta``. Named movements (variants of these
types) and their per-recording randomisation live in :mod:`evpose.synth.movements`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


_D = np.pi / 180.0  # degrees -> radians


def _lift(theta):
    """Smooth alternating bump: sin^2 on the positive half-cycle, 0 on the other."""
    return np.maximum(np.sin(theta), 0.0) ** 2


def _open(theta):
    """Smooth 0 -> 1 -> 0 per cycle: (1 - cos) / 2."""
    return 0.5 - 0.5 * np.cos(theta)


def _hop(x, threshold: float = 0.5):
    """Smooth airborne bumps: 0 while ``x <= threshold``, rising to 1 at ``x = 1``."""
    return (np.maximum(x - threshold, 0.0) / (1.0 - threshold)) ** 2


def _rest(T: int) -> dict[str, np.ndarray]:
    """A relaxed standing posture: arms slightly out, elbows a little bent, feet apart."""
    z = np.zeros(T)
    return {
        "sh_abd_r": z + 8 * _D, "sh_abd_l": z + 8 * _D,
        "elbow_r": z + 12 * _D, "elbow_l": z + 12 * _D,
        "hip_abd_r": z + 4 * _D, "hip_abd_l": z + 4 * _D,
    }  # fmt: skip


def _guard(a: dict, T: int) -> None:
    """Boxing guard: fists in front of the chin."""
    for s in "rl":
        a[f"sh_flex_{s}"] = np.full(T, 45 * _D)
        a[f"sh_abd_{s}"] = np.full(T, 15 * _D)
        a[f"elbow_{s}"] = np.full(T, 120 * _D)
        a[f"sh_rot_{s}"] = np.full(T, -25 * _D)


def _sides(side: str) -> tuple[float, float]:
    """Weights of the right and left limb for a ``side`` option."""
    table = {"right": (1.0, 0.0), "left": (0.0, 1.0), "both": (1.0, 1.0), "alternate": (1.0, 1.0)}
    if side not in table:
        raise ValueError(f"unknown side {side!r}; valid: {', '.join(table)}")
    return table[side]


# --------------------------------------------------------------------------- motion types
# Each takes (theta (T,), amplitude, skeleton, **variant) and returns an angle dict.


def static(theta, amp, sk, **_):
    """Standing still in the rest posture (the pure-noise reference)."""
    return _rest(len(theta))


def walk(theta, amp, sk, **_):
    """Walking in place: knees lift alternately, arms swing opposite."""
    a = _rest(len(theta))
    lr, ll = _lift(theta), _lift(theta + np.pi)
    a.update(
        hip_flex_r=35 * _D * amp * lr, knee_r=65 * _D * amp * lr,
        hip_flex_l=35 * _D * amp * ll, knee_l=65 * _D * amp * ll,
        sh_flex_r=-20 * _D * amp * np.sin(theta), sh_flex_l=20 * _D * amp * np.sin(theta),
        elbow_r=(15 + 15 * ll) * _D, elbow_l=(15 + 15 * lr) * _D,
        roll=3 * _D * np.sin(theta), twist=5 * _D * amp * np.sin(theta),
    )  # fmt: skip
    return a


def jog(theta, amp, sk, knee_height: float = 1.0, **_):
    """Jogging in place: quick alternate steps with a small hop, elbows at 90 degrees."""
    a = _rest(len(theta))
    lr, ll = _lift(theta), _lift(theta + np.pi)
    k = float(knee_height)
    a.update(
        hip_flex_r=45 * k * _D * amp * lr, knee_r=100 * _D * amp * lr,
        hip_flex_l=45 * k * _D * amp * ll, knee_l=100 * _D * amp * ll,
        sh_flex_r=-30 * _D * amp * np.sin(theta), sh_flex_l=30 * _D * amp * np.sin(theta),
        elbow_r=np.full(len(theta), 90 * _D), elbow_l=np.full(len(theta), 90 * _D),
        sh_rot_r=np.full(len(theta), -15 * _D), sh_rot_l=np.full(len(theta), -15 * _D),
        hop=0.025 * sk.height * amp * _hop(np.cos(2 * theta)),  # airborne as the feet switch
        pitch=np.full(len(theta), 5 * _D), twist=6 * _D * amp * np.sin(theta),
    )  # fmt: skip
    return a


def high_knees(theta, amp, sk, **_):
    """High knees: thighs up to horizontal, arms pumping."""
    a = jog(theta, amp, sk, knee_height=1.8)
    a["hop"] = 0.015 * sk.height * amp * _hop(np.cos(2 * theta))
    return a


def arm_circles(theta, amp, sk, direction: float = 1.0, **_):
    """Arms held out sideways drawing circles (forwards for direction +1)."""
    a = _rest(len(theta))
    th = float(np.sign(direction) or 1.0) * theta
    for s in "rl":
        a[f"sh_abd_{s}"] = (85 + 25 * amp * np.cos(th)) * _D
        a[f"sh_flex_{s}"] = 25 * _D * amp * np.sin(th)
        a[f"elbow_{s}"] = np.full(len(theta), 5 * _D)
    return a


def jumping_jacks(theta, amp, sk, **_):
    """Jumping jacks: arms from the sides to overhead while the legs jump apart."""
    a = _rest(len(theta))
    o = _open(theta)
    for s in "rl":
        a[f"sh_abd_{s}"] = (10 + 150 * amp * o) * _D
        a[f"elbow_{s}"] = (10 + 10 * o) * _D
        a[f"hip_abd_{s}"] = (4 + 14 * amp * o) * _D
        a[f"knee_{s}"] = 10 * _D * np.sin(theta) ** 2
    a["hop"] = 0.04 * sk.height * amp * _hop(np.sin(theta) ** 2)  # airborne while the feet move
    return a


def squats(theta, amp, sk, **_):
    """Squats with the arms stretched forward; the hips go back to keep the feet planted."""
    a = _rest(len(theta))
    d = _open(theta) * amp
    for s in "rl":
        a[f"hip_flex_{s}"] = 95 * _D * d
        a[f"knee_{s}"] = 125 * _D * d
        a[f"ankle_{s}"] = 30 * _D * d  # the shin leans forward over a flat foot
        a[f"hip_abd_{s}"] = (4 + 8 * d) * _D
        a[f"sh_flex_{s}"] = 85 * _D * d
        a[f"sh_abd_{s}"] = (8 - 6 * d) * _D
    a["pitch"] = 40 * _D * d
    return a


def punches(theta, amp, sk, uppercut: bool = False, **_):
    """Alternating straight punches (or uppercuts) from a boxing guard, trunk turning."""
    T = len(theta)
    a = {}
    _guard(a, T)
    er, el = _lift(theta) * amp, _lift(theta + np.pi) * amp
    for s, e in (("r", er), ("l", el)):
        if uppercut:
            a[f"sh_flex_{s}"] = (45 + 75 * e) * _D
            a[f"elbow_{s}"] = (120 - 40 * e) * _D
        else:
            a[f"sh_flex_{s}"] = (45 + 45 * e) * _D
            a[f"elbow_{s}"] = (120 - 112 * e) * _D
            a[f"sh_abd_{s}"] = (15 - 22 * e) * _D
    a["twist"] = 18 * _D * (er - el)
    a["hip_abd_r"] = np.full(T, 8 * _D)
    a["hip_abd_l"] = np.full(T, 8 * _D)
    a["knee_r"] = np.full(T, 12 * _D)
    a["knee_l"] = np.full(T, 12 * _D)
    return a


def kicks(theta, amp, sk, side: str = "alternate", **_):
    """Front snap kicks: the knee comes up bent and the shin snaps forward."""
    T = len(theta)
    a = {}
    _guard(a, T)
    wr, wl = _sides(side)
    if side == "alternate":
        er, el = _lift(theta), _lift(theta + np.pi)
    else:
        er, el = wr * _open(theta), wl * _open(theta)
    for s, e in (("r", er), ("l", el)):  # e: 0 (standing) .. 1 (leg extended), smooth
        a[f"hip_flex_{s}"] = 80 * _D * amp * e
        # the knee folds on the way up and snaps straight at the top
        a[f"knee_{s}"] = (8 * e + 85 * np.sin(np.pi * e)) * _D
        a[f"ankle_{s}"] = -25 * _D * amp * e
        a[f"hip_abd_{s}"] = np.full(T, 5 * _D)
    a["pitch"] = -10 * _D * (er + el) * amp
    return a


def wave(theta, amp, sk, side: str = "right", **_):
    """Waving overhead: upper arm out and up, forearm swinging about the elbow."""
    a = _rest(len(theta))
    for s, w in zip("rl", _sides(side)):
        if not w:
            continue
        a[f"sh_abd_{s}"] = np.full(len(theta), 105 * _D)
        a[f"sh_flex_{s}"] = np.full(len(theta), 20 * _D)
        a[f"sh_rot_{s}"] = np.full(len(theta), 90 * _D)
        a[f"elbow_{s}"] = (45 + 28 * amp * np.sin(theta)) * _D
    return a


def toe_touch(theta, amp, sk, **_):
    """Bending down to the toes with straight legs, arms reaching for the feet."""
    a = _rest(len(theta))
    d = _open(theta) ** 1.5 * amp
    pitch = 105 * _D * d
    a["pitch"] = pitch
    a["fwd"] = -0.07 * sk.height * d  # hips go back for balance
    for s in "rl":
        a[f"sh_flex_{s}"] = 0.92 * pitch
        a[f"elbow_{s}"] = np.full(len(theta), 8 * _D)
        a[f"knee_{s}"] = 8 * _D * d
    return a


def side_lunges(theta, amp, sk, **_):
    """Side lunges, alternating: one knee bends while the other leg stretches sideways."""
    a = _rest(len(theta))
    e = {"r": _lift(theta) * amp, "l": _lift(theta + np.pi) * amp}
    L = sk.thigh + sk.shin
    bent = {}
    for s in "rl":
        flex, knee, abd = 45 * _D * e[s], 75 * _D * e[s], (6 + 16 * e[s]) * _D
        # height of the bent leg's foot below its hip
        drop = np.cos(abd) * (sk.thigh * np.cos(flex) + sk.shin * np.cos(knee - flex))
        bent[s] = (flex, knee, abd, drop)
    for s, o in (("r", "l"), ("l", "r")):
        flex, knee, abd, _ = bent[s]
        # while the other side lunges, this leg stays straight and opens until its foot
        # is as low as the bent one's (both feet on the floor)
        straight = np.arccos(np.clip(bent[o][3] / L, -1.0, 1.0))
        a[f"hip_flex_{s}"], a[f"knee_{s}"], a[f"ankle_{s}"] = flex, knee, 20 * _D * e[s]
        a[f"hip_abd_{s}"] = np.where(e[s] >= e[o], abd, straight)
        a[f"sh_flex_{s}"] = 60 * _D * (e["r"] + e["l"])
    a["pitch"] = 25 * _D * (e["r"] + e["l"])
    return a


def clapping(theta, amp, sk, overhead: bool = False, **_):
    """Clapping in front of the chest (or overhead): arms open and close."""
    a = _rest(len(theta))
    o = _open(theta) * amp
    for s in "rl":
        if overhead:
            a[f"sh_flex_{s}"] = np.full(len(theta), 150 * _D)
            a[f"sh_abd_{s}"] = (-8 + 40 * o) * _D
            a[f"elbow_{s}"] = (15 + 15 * o) * _D
        else:
            a[f"sh_flex_{s}"] = np.full(len(theta), 65 * _D)
            a[f"sh_abd_{s}"] = (-12 + 50 * o) * _D
            a[f"sh_rot_{s}"] = np.full(len(theta), -80 * _D)
            a[f"elbow_{s}"] = (55 - 35 * o) * _D
    return a


def arm_raises(theta, amp, sk, plane: str = "lateral", **_):
    """Straight arms raised to shoulder height, sideways (lateral) or forwards (front)."""
    if plane not in ("lateral", "front"):
        raise ValueError(f"unknown plane {plane!r}; valid: lateral, front")
    a = _rest(len(theta))
    o = _open(theta) * amp
    for s in "rl":
        if plane == "lateral":
            a[f"sh_abd_{s}"] = (8 + 85 * o) * _D
        else:
            a[f"sh_flex_{s}"] = 95 * _D * o
        a[f"elbow_{s}"] = np.full(len(theta), 6 * _D)
    return a


def torso_twist(theta, amp, sk, **_):
    """Trunk turning left and right with the elbows out at shoulder height."""
    a = _rest(len(theta))
    a["twist"] = 40 * _D * amp * np.sin(theta)
    for s in "rl":
        a[f"sh_abd_{s}"] = np.full(len(theta), 80 * _D)
        a[f"sh_rot_{s}"] = np.full(len(theta), -90 * _D)
        a[f"elbow_{s}"] = np.full(len(theta), 100 * _D)
    a["hip_abd_r"] = a["hip_abd_l"] = np.full(len(theta), 9 * _D)
    return a


@dataclass(frozen=True)
class MotionType:
    """A motion type.

    Args:
        name: its name.
        fn: ``fn(theta, amplitude, skeleton, **variant) -> {angle key: (T,) array}`` with
            ``theta`` (T,) the phase in radians and ``skeleton`` the subject's
            :class:`~evpose.synth.skeleton.Skeleton` (for movements that need lengths).
        base_hz: cycles per second at speed 1.
        description: one line for humans.
    """

    name: str
    fn: Callable[..., dict]
    base_hz: float
    description: str


MOTION_TYPES: dict[str, MotionType] = {
    m.name: m
    for m in (
        MotionType("static", static, 0.0, "standing still"),
        MotionType("walk", walk, 0.9, walk.__doc__),
        MotionType("jog", jog, 1.35, jog.__doc__),
        MotionType("high_knees", high_knees, 1.2, high_knees.__doc__),
        MotionType("arm_circles", arm_circles, 1.0, arm_circles.__doc__),
        MotionType("jumping_jacks", jumping_jacks, 0.9, jumping_jacks.__doc__),
        MotionType("squats", squats, 0.45, squats.__doc__),
        MotionType("punches", punches, 0.9, punches.__doc__),
        MotionType("kicks", kicks, 0.6, kicks.__doc__),
        MotionType("wave", wave, 1.6, wave.__doc__),
        MotionType("toe_touch", toe_touch, 0.35, toe_touch.__doc__),
        MotionType("side_lunges", side_lunges, 0.35, side_lunges.__doc__),
        MotionType("clapping", clapping, 1.4, clapping.__doc__),
        MotionType("arm_raises", arm_raises, 0.5, arm_raises.__doc__),
        MotionType("torso_twist", torso_twist, 0.55, torso_twist.__doc__),
    )
}
