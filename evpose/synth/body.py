"""The synthetic subject: skeleton proportions and volumetric parts (capsules).

A body is a fixed list of 14 tapered capsules ("primitives"), each belonging to one of
the 10 parts of :data:`evpose.types.PART_NAMES` (a part may have several primitives:
head and neck, the torso's two columns, shin and foot). A capsule is the set of points
within ``r(s) = ra + s (rb - ra)`` of the segment ``a + s (b - a)``.

Every size scales with the subject's height; girth scales the radii. Clothing is in
:mod:`evpose.synth.clothing`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..types import JOINT_INDEX, PART_INDEX
from .clothing import Appearance, plain_appearance, sample_appearance
from .skeleton import Pose, Skeleton

#: The primitives of the body: (name, part name, clothing role). Order is the render order
#: of ties only; occlusion is decided per pixel by depth.
PRIMITIVES: tuple[tuple[str, str, str], ...] = (
    ("head", "head", "head"),
    ("neck", "head", "skin"),
    ("torso_right", "torso", "shirt"),
    ("torso_left", "torso", "shirt"),
    ("upper_arm_r", "upper_arm_r", "shirt"),
    ("upper_arm_l", "upper_arm_l", "shirt"),
    ("forearm_hand_r", "forearm_hand_r", "sleeve"),
    ("forearm_hand_l", "forearm_hand_l", "sleeve"),
    ("thigh_r", "thigh_r", "trousers"),
    ("thigh_l", "thigh_l", "trousers"),
    ("shin_r", "shin_foot_r", "legwear"),
    ("shin_l", "shin_foot_l", "legwear"),
    ("foot_r", "shin_foot_r", "shoes"),
    ("foot_l", "shin_foot_l", "shoes"),
)
PRIMITIVE_NAMES: tuple[str, ...] = tuple(p[0] for p in PRIMITIVES)
#: Part id (index into PART_NAMES) of every primitive.
PRIMITIVE_PART: np.ndarray = np.array([PART_INDEX[p[1]] for p in PRIMITIVES], dtype=np.int64)
NUM_PRIMITIVES = len(PRIMITIVES)
#: Clothing role of every primitive (:mod:`evpose.synth.clothing`).
PRIMITIVE_ROLES: tuple[str, ...] = tuple(p[2] for p in PRIMITIVES)

#: Radii at the two ends of every primitive as fractions of the height (before girth).
_RADII = {
    "head": (0.052, 0.052),
    "neck": (0.032, 0.032),
    "torso_right": (0.056, 0.058),
    "torso_left": (0.056, 0.058),
    "upper_arm_r": (0.027, 0.022),
    "upper_arm_l": (0.027, 0.022),
    "forearm_hand_r": (0.021, 0.016),
    "forearm_hand_l": (0.021, 0.016),
    "thigh_r": (0.050, 0.032),
    "thigh_l": (0.050, 0.032),
    "shin_r": (0.030, 0.021),
    "shin_l": (0.030, 0.021),
    "foot_r": (0.019, 0.018),
    "foot_l": (0.019, 0.018),
}


class Capsules(NamedTuple):
    """Tapered capsules of one or more bodies over time.

    Shapes (T times, M primitives):
        a, b: (T, M, 3) world mm, axis end points
        ra, rb: (M,) radii at a and b, mm
        part: (M,) part id (index into PART_NAMES)
        person: (M,) person id
        primitive: (M,) index into PRIMITIVES
    """

    a: np.ndarray
    b: np.ndarray
    ra: np.ndarray
    rb: np.ndarray
    part: np.ndarray
    person: np.ndarray
    primitive: np.ndarray

    @staticmethod
    def concatenate(items: "list[Capsules]") -> "Capsules":
        """Capsules of several bodies side by side (same times)."""
        return Capsules(*(np.concatenate([getattr(c, f) for c in items], axis=1 if f in "ab" else 0) for f in Capsules._fields))


@dataclass(frozen=True)
class Subject:
    """One synthetic person: proportions, girth and clothing.

    Args:
        skeleton: segment lengths (mm).
        radii: (M, 2) capsule radii (mm) at the two ends of every primitive.
        appearance: clothing and skin.
        params: the sampled values that made this subject (for the manifest).
    """

    skeleton: Skeleton
    radii: np.ndarray
    appearance: Appearance
    params: dict = field(default_factory=dict)

    @property
    def height(self) -> float:
        return self.skeleton.height

    def capsules(self, pose: Pose, person: int = 0) -> Capsules:
        """The body's primitives for a pose trajectory (see :func:`body_capsules`)."""
        return body_capsules(self, pose, person)


def make_subject(
    height: float = 1750.0,
    girth: float = 1.0,
    torso_girth: float = 1.0,
    leg_scale: float = 1.0,
    arm_scale: float = 1.0,
    shoulder_scale: float = 1.0,
    hip_scale: float = 1.0,
    appearance: Appearance | None = None,
    params: dict | None = None,
) -> Subject:
    """A subject from explicit values.

    Args:
        height: standing height, mm (default 1750).
        girth: factor on every limb radius (default 1).
        torso_girth: extra factor on the torso and neck radii (default 1).
        leg_scale, arm_scale, shoulder_scale, hip_scale: see :meth:`Skeleton.from_height`.
        appearance: clothing (default: a plain grey outfit with mild texture).
    """
    if not (np.isfinite(girth) and girth > 0 and np.isfinite(torso_girth) and torso_girth > 0):
        raise ValueError(f"girth and torso_girth must be positive, got {girth}, {torso_girth}")
    sk = Skeleton.from_height(height, leg_scale, arm_scale, shoulder_scale, hip_scale)
    H = float(height)
    radii = np.empty((NUM_PRIMITIVES, 2))
    for m, name in enumerate(PRIMITIVE_NAMES):
        g = girth ** 0.3 if name == "head" else girth
        if name.startswith("torso") or name == "neck":
            g = girth * torso_girth
        radii[m] = np.asarray(_RADII[name]) * H * g
    if appearance is None:
        appearance = plain_appearance(PRIMITIVE_ROLES)
    return Subject(skeleton=sk, radii=radii, appearance=appearance, params=dict(params or {}))


def sample_subject(
    rng: np.random.Generator,
    height_range: tuple[float, float] = (1500.0, 1950.0),
    girth_range: tuple[float, float] = (0.85, 1.25),
) -> Subject:
    """A random subject: height, proportions, girth and clothing.

    Args:
        rng: random generator (the subject is a pure function of its state).
        height_range: uniform range of standing heights, mm (default 1.5 m .. 1.95 m).
        girth_range: uniform range of the girth factor on limb radii (default 0.85 .. 1.25).
    """
    lo, hi = (float(v) for v in height_range)
    if not (0 < lo <= hi):
        raise ValueError(f"height_range must satisfy 0 < low <= high, got {height_range}")
    glo, ghi = (float(v) for v in girth_range)
    if not (0 < glo <= ghi):
        raise ValueError(f"girth_range must satisfy 0 < low <= high, got {girth_range}")
    p = {
        "height": float(rng.uniform(lo, hi)),
        "girth": float(rng.uniform(glo, ghi)),
        "torso_girth": float(rng.uniform(0.92, 1.1)),
        "leg_scale": float(rng.uniform(0.95, 1.05)),
        "arm_scale": float(rng.uniform(0.95, 1.05)),
        "shoulder_scale": float(rng.uniform(0.9, 1.1)),
        "hip_scale": float(rng.uniform(0.9, 1.12)),
    }
    appearance, clothing = sample_appearance(rng, p["height"], PRIMITIVE_ROLES)
    return make_subject(**p, appearance=appearance, params={**p, "clothing": clothing})


# --------------------------------------------------------------------------- geometry


def body_capsules(subject: Subject, pose: Pose, person: int = 0) -> Capsules:
    """World-space capsules of a subject in a pose trajectory.

    Args:
        subject: the body.
        pose: joint trajectory from :func:`evpose.synth.skeleton.forward_kinematics`.
        person: person id stored with every primitive (default 0).

    Shapes:
        pose: T samples -> Capsules with a, b (T, M, 3)
    """
    sk, H = subject.skeleton, subject.height
    J = pose.joints
    j = JOINT_INDEX
    up = pose.up
    T = J.shape[0]
    a = np.empty((T, NUM_PRIMITIVES, 3))
    b = np.empty((T, NUM_PRIMITIVES, 3))
    r = subject.radii
    idx = {n: m for m, n in enumerate(PRIMITIVE_NAMES)}
    mid_sh = 0.5 * (J[:, j["shoulderR"]] + J[:, j["shoulderL"]])
    head = J[:, j["head"]]
    rh = r[idx["head"], 0]

    def put(name, pa, pb):
        a[:, idx[name]] = pa
        b[:, idx[name]] = pb

    top = head + (sk.head_top - rh) * up
    put("head", head - (0.28 * sk.head_top) * up, top)
    put("neck", mid_sh + 0.01 * H * up, head - 0.03 * H * up)
    inset = 0.055 * H
    for s in "rl":
        S = s.upper()
        sh = J[:, j[f"shoulder{S}"]]
        # the shoulder end of a torso column sits inwards (towards the other shoulder)
        toward = mid_sh - sh
        toward /= np.linalg.norm(toward, axis=-1, keepdims=True)
        put("torso_right" if s == "r" else "torso_left", sh + inset * toward - 0.03 * H * up, J[:, j[f"hip{S}"]] + 0.01 * H * up)
        put(f"upper_arm_{s}", sh, J[:, j[f"elbow{S}"]])
        k = 0 if s == "r" else 1
        hd = pose.hand_dir[:, k]
        rtip = r[idx[f"forearm_hand_{s}"], 1]
        # one tapered capsule from the elbow to the finger tips
        put(f"forearm_hand_{s}", J[:, j[f"elbow{S}"]], J[:, j[f"hand{S}"]] + max(sk.hand - rtip, 0.0) * hd)
        put(f"thigh_{s}", J[:, j[f"hip{S}"]], J[:, j[f"knee{S}"]])
        foot = J[:, j[f"foot{S}"]]
        put(f"shin_{s}", J[:, j[f"knee{S}"]], foot)
        toe, sole = pose.toe_dir[:, k], pose.sole_up[:, k]
        rf = r[idx[f"foot_{s}"], 1]
        put(
            f"foot_{s}",
            foot - sk.foot_back * toe - 0.011 * H * sole,
            foot + (sk.foot_forward - rf) * toe - (sk.ankle_height - rf) * sole,
        )
    M = NUM_PRIMITIVES
    return Capsules(
        a=a,
        b=b,
        ra=r[:, 0].copy(),
        rb=r[:, 1].copy(),
        part=PRIMITIVE_PART.copy(),
        person=np.full(M, int(person), dtype=np.int64),
        primitive=np.arange(M, dtype=np.int64),
    )
