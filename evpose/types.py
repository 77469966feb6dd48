"""Shared vocabulary of evpose: the event dtype, DHP19's joints and skeleton, body parts.

Shape letters used across the package: N events or nodes, E edges, B graphs
(windows) in a batch, K joints, P parts, T sample times, H x W sensor rows x columns.
"""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------- events

#: Core fields of an event: time (microseconds), column, row, polarity (0 = OFF, 1 = ON).
EVENT_FIELDS: tuple[tuple[str, str], ...] = (
    ("t", "<i8"),
    ("x", "<u2"),
    ("y", "<u2"),
    ("p", "i1"),
)
#: Optional per-event labels: body part id and person id, -1 = background / unknown.
LABEL_FIELDS: tuple[tuple[str, str], ...] = (
    ("part", "i1"),
    ("person", "i1"),
)
#: The value of ``part`` / ``person`` for noise and unknown events.
BACKGROUND = -1


def event_dtype(part: bool = False, person: bool = False) -> np.dtype:
    """The numpy structured dtype of an event array.

    Args:
        part: include the ``part`` label field (int8, -1 = background).
        person: include the ``person`` label field (int8, -1 = background).
    """
    fields = list(EVENT_FIELDS)
    if part:
        fields.append(LABEL_FIELDS[0])
    if person:
        fields.append(LABEL_FIELDS[1])
    return np.dtype(fields)


EVENT_DTYPE = event_dtype()
LABELLED_EVENT_DTYPE = event_dtype(part=True, person=True)


def first_inexact(values, dtype) -> int | None:
    """Index of the first value that ``dtype`` cannot hold exactly (a fraction, NaN, an
    infinity, or a number outside the dtype's range), or None when all fit.

    Shapes:
        values: (N,) any numeric dtype
    """
    v = np.asarray(values)
    dtype = np.dtype(dtype)
    if v.dtype == dtype or v.size == 0 or np.can_cast(v.dtype, dtype, "safe"):
        return None
    if v.dtype.kind == "b":
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        if v.dtype.kind == "f" and dtype.kind in "iu":
            info = np.iinfo(dtype)
            # compare in float: the cast of a non-finite or out-of-range float is undefined
            ok = np.isfinite(v) & (v == np.floor(v)) & (v >= info.min) & (v < float(info.max) + 1.0)
        elif v.dtype.kind in "iu" and dtype.kind in "iu":
            info = np.iinfo(dtype)
            ok = (v >= info.min) & (v <= info.max)
        else:
            ok = v.astype(dtype).astype(v.dtype) == v
    bad = np.flatnonzero(~ok)
    return int(bad[0]) if bad.size else None


def make_events(t, x, y, p, part=None, person=None) -> np.ndarray:
    """Build a structured event array from columns (copied, cast to the evpose dtypes).

    Raises:
        ValueError: a value the field's dtype cannot hold exactly (x = 3.7, a NaN, x = -1
            or 70000 for uint16), naming the field and the index.

    Shapes:
        every column: (N,)
    """
    n = len(t)
    out = np.empty(n, dtype=event_dtype(part is not None, person is not None))
    for name, col in (("t", t), ("x", x), ("y", y), ("p", p), ("part", part), ("person", person)):
        if col is None:
            continue
        col = np.asarray(col)
        bad = first_inexact(col, out.dtype[name])
        if bad is not None:
            raise ValueError(f"events {name}: value {col[bad].item()!r} at index {bad} is not exactly a {out.dtype[name]}")
        out[name] = col
    return out


# --------------------------------------------------------------------------- joints

#: DHP19's 13 joints, in DHP19's order.
JOINT_NAMES: tuple[str, ...] = (
    "head",
    "shoulderR",
    "shoulderL",
    "elbowR",
    "elbowL",
    "hipR",
    "hipL",
    "handR",
    "handL",
    "kneeR",
    "kneeL",
    "footR",
    "footL",
)
NUM_JOINTS = len(JOINT_NAMES)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}

#: Bones of the 13-joint skeleton (pairs of joint indices), for drawing and bone lengths.
SKELETON_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2), (1, 2),          # head to shoulders, shoulder line
    (1, 3), (3, 7),                  # right arm
    (2, 4), (4, 8),                  # left arm
    (1, 5), (2, 6), (5, 6),          # torso sides, hip line
    (5, 9), (9, 11),                 # right leg
    (6, 10), (10, 12),               # left leg
)

#: The root of a pose is the mid-point of the hips (DHP19 has no pelvis marker).
ROOT_JOINTS: tuple[int, ...] = (JOINT_INDEX["hipR"], JOINT_INDEX["hipL"])


def root_of(joints: np.ndarray) -> np.ndarray:
    """Root position (mid-hip) of poses.

    Shapes:
        joints: (..., K, D) -> (..., D)
    """
    return joints[..., list(ROOT_JOINTS), :].mean(axis=-2)


# --------------------------------------------------------------------------- body parts

#: Body parts (volumetric in the synthetic generator, segments for the part labeller).
PART_NAMES: tuple[str, ...] = (
    "head",
    "torso",
    "upper_arm_r",
    "upper_arm_l",
    "forearm_hand_r",
    "forearm_hand_l",
    "thigh_r",
    "thigh_l",
    "shin_foot_r",
    "shin_foot_l",
)
NUM_PARTS = len(PART_NAMES)

#: What the first dimension of a per-window tensor runs over (a task's target or output):
#: one row per window, one per graph node; a third kind is one per query point of a named
#: query set, whose level is that set's ``Data`` key (e.g. ``box_query_pos``).
WINDOW_LEVEL, NODE_LEVEL = "window", "node"
PART_INDEX: dict[str, int] = {name: i for i, name in enumerate(PART_NAMES)}


def part_class(part, num_parts: int = NUM_PARTS):
    """Per-event (or per-node) part labels as classes of a ``num_parts + 1``-way classifier:
    a part id stays, background (any label below 0) becomes class ``num_parts``.

    Works on numpy arrays and torch tensors alike and keeps their type and dtype.

    Shapes:
        part: (N,) int -> (N,) int
    """
    return part + (part < 0) * (num_parts - part)

#: The axis of each part as (joints averaged for end A, joints averaged for end B).
#: The head axis runs from the head joint to the neck (mid-shoulders); the torso from
#: the neck to the root (mid-hips). Limbs run joint to joint.
PART_SEGMENTS: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...] = (
    ((0,), (1, 2)),      # head: head -> neck
    ((1, 2), ROOT_JOINTS),  # torso: neck -> mid-hip (the root)
    ((1,), (3,)),        # upper arm R: shoulderR -> elbowR
    ((2,), (4,)),        # upper arm L
    ((3,), (7,)),        # forearm + hand R: elbowR -> handR
    ((4,), (8,)),        # forearm + hand L
    ((5,), (9,)),        # thigh R: hipR -> kneeR
    ((6,), (10,)),       # thigh L
    ((9,), (11,)),       # shin + foot R: kneeR -> footR
    ((10,), (12,)),      # shin + foot L
)


def part_segments(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """End points of every part axis from joint positions (2D or 3D).

    Shapes:
        joints: (..., K, D) -> (a, b), each (..., P, D)
    """
    a = np.stack([joints[..., list(ia), :].mean(axis=-2) for ia, _ in PART_SEGMENTS], axis=-2)
    b = np.stack([joints[..., list(ib), :].mean(axis=-2) for _, ib in PART_SEGMENTS], axis=-2)
    return a, b


#: Sensor size of the DAVIS346 used by DHP19, as (height, width).
DHP19_SENSOR_SIZE: tuple[int, int] = (260, 346)
