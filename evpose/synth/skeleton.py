"""Forward kinematics of the synthetic human: joint angles -> DHP19's 13 joints in 3D.

The body is a rigid trunk (hips, shoulders and head fixed to each other, so every edge of
:data:`evpose.types.SKELETON_EDGES` keeps its length) with two 2-link arms and two 2-link
legs. Joint angles are given per time sample, so a whole trajectory is one vectorised call.

Frames. The world is DHP19's Vicon frame (millimetres, Z up, floor at Z = 0). A person
stands at ``position`` on the floor facing ``yaw`` (radians from the world X axis, the
facing direction is ``(cos yaw, sin yaw, 0)``). The *base* frame has axes (forward, left,
up); the trunk frame is the base frame turned by the trunk angles about the root (mid-hip).

Angles (radians; every array has shape (T,), missing keys are 0):

================  ===========================================================
``yaw``           extra turn of the whole body about the vertical
``fwd``, ``side`` root offset (mm) along forward / left of the base frame
``hop``           height (mm) of the lower foot above its standing height
``pitch``         trunk bend forward about the hip axis
``roll``          trunk bend sideways (positive: towards the person's left)
``twist``         trunk turn about its own vertical axis (positive: to the left)
``sh_flex_{r,l}`` shoulder flexion: arm raised forward (pi: overhead)
``sh_abd_{r,l}``  shoulder abduction: arm raised sideways (negative: across)
``sh_rot_{r,l}``  humeral rotation: turns the plane in which the elbow bends
``elbow_{r,l}``   elbow flexion (0: straight)
``hip_flex_{r,l}`` hip flexion: thigh raised forward (negative: backward)
``hip_abd_{r,l}`` hip abduction: leg raised sideways
``knee_{r,l}``    knee flexion (0: straight, the shin folds backwards)
``ankle_{r,l}``   ankle: toes raised (positive) or pointed (negative)
================  ===========================================================

Arm and leg angles are relative to the trunk and to the base frame respectively, so a
forward bend of the trunk (``pitch``) leaves the legs standing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from ..types import JOINT_INDEX, NUM_JOINTS

#: Every angle key understood by :func:`forward_kinematics`.
ANGLE_KEYS: tuple[str, ...] = (
    "yaw", "fwd", "side", "hop", "pitch", "roll", "twist",
    "sh_flex_r", "sh_abd_r", "sh_rot_r", "elbow_r",
    "sh_flex_l", "sh_abd_l", "sh_rot_l", "elbow_l",
    "hip_flex_r", "hip_abd_r", "knee_r", "ankle_r",
    "hip_flex_l", "hip_abd_l", "knee_l", "ankle_l",
)  # fmt: skip


@dataclass(frozen=True)
class Skeleton:
    """Segment lengths of one subject (millimetres).

    Args:
        ankle_height: height of the foot joint (ankle) above the floor when standing.
        shin: knee -> foot joint.
        thigh: hip -> knee.
        trunk: hip line -> shoulder line (vertical when upright).
        neck_head: shoulder line -> head joint (the head's centre).
        head_top: head joint -> top of the head.
        head_forward: head joint in front of the shoulder line.
        shoulder_half_width: half the distance between the shoulder joints.
        hip_half_width: half the distance between the hip joints.
        upper_arm: shoulder -> elbow.
        forearm: elbow -> hand joint (the centre of the hand).
        hand: hand joint -> finger tips.
        foot_back: heel behind the foot joint.
        foot_forward: toes in front of the foot joint.
    """

    ankle_height: float
    shin: float
    thigh: float
    trunk: float
    neck_head: float
    head_top: float
    head_forward: float
    shoulder_half_width: float
    hip_half_width: float
    upper_arm: float
    forearm: float
    hand: float
    foot_back: float
    foot_forward: float

    @property
    def height(self) -> float:
        """Standing height (floor to the top of the head), mm."""
        return self.ankle_height + self.shin + self.thigh + self.trunk + self.neck_head + self.head_top

    @property
    def hip_height(self) -> float:
        return self.ankle_height + self.shin + self.thigh

    @classmethod
    def from_height(
        cls,
        height: float,
        leg_scale: float = 1.0,
        arm_scale: float = 1.0,
        shoulder_scale: float = 1.0,
        hip_scale: float = 1.0,
    ) -> "Skeleton":
        """Average human proportions (Drillis and Contini) for a standing height in mm,
        with optional relative changes of legs, arms, shoulder and hip width. The trunk
        absorbs the leg change so the standing height stays ``height``.

        Args:
            height: standing height, mm.
            leg_scale: factor on shin and thigh (default 1).
            arm_scale: factor on upper arm, forearm and hand (default 1).
            shoulder_scale: factor on the shoulder width (default 1).
            hip_scale: factor on the hip width (default 1).
        """
        H = float(height)
        if not np.isfinite(H) or H <= 0:
            raise ValueError(f"height must be a positive number of mm, got {height}")
        shin, thigh = 0.246 * H * leg_scale, 0.245 * H * leg_scale
        ankle, neck_head, head_top = 0.039 * H, 0.118 * H, 0.064 * H
        trunk = H - ankle - shin - thigh - neck_head - head_top
        return cls(
            ankle_height=ankle,
            shin=shin,
            thigh=thigh,
            trunk=trunk,
            neck_head=neck_head,
            head_top=head_top,
            head_forward=0.012 * H,
            shoulder_half_width=0.100 * H * shoulder_scale,
            hip_half_width=0.055 * H * hip_scale,
            upper_arm=0.186 * H * arm_scale,
            forearm=0.176 * H * arm_scale,
            hand=0.050 * H * arm_scale,
            foot_back=0.030 * H,
            foot_forward=0.110 * H,
        )


@dataclass
class Pose:
    """A trajectory of body configurations, the output of :func:`forward_kinematics`.

    Shapes (T time samples, K = 13 joints):
        joints: (T, K, 3) world mm, DHP19 joint order
        up, forward, left: (T, 3) unit axes of the trunk frame
        hand_dir: (T, 2, 3) unit direction elbow -> hand, [right, left]
        toe_dir: (T, 2, 3) unit direction foot joint -> toes, [right, left]
        sole_up: (T, 2, 3) unit normal of the sole (the foot's "up"), [right, left]
    """

    joints: np.ndarray
    up: np.ndarray
    forward: np.ndarray
    left: np.ndarray
    hand_dir: np.ndarray
    toe_dir: np.ndarray
    sole_up: np.ndarray

    def __len__(self) -> int:
        return self.joints.shape[0]


def _get(angles: Mapping[str, np.ndarray], key: str, T: int) -> np.ndarray:
    v = angles.get(key)
    if v is None:
        return np.zeros(T)
    v = np.asarray(v, dtype=np.float64)
    return np.broadcast_to(v, (T,)) if v.ndim == 0 else v


def _limb_dirs(flex, abd, side):
    """Unit direction of a limb hanging down, turned by abduction then flexion, and the
    unit vector perpendicular to it in its flexion plane (forward for a hanging limb).

    ``side`` is -1 for the right and +1 for the left (the sign of the base "left" axis).
    Returned in (forward, left, up) coordinates, shapes (T, 3).
    """
    ca, sa, cf, sf = np.cos(abd), np.sin(abd), np.cos(flex), np.sin(flex)
    d = np.stack([ca * sf, side * sa, -ca * cf], axis=-1)
    w = np.stack([cf, np.zeros_like(cf), sf], axis=-1)
    return d, w


def forward_kinematics(
    skeleton: Skeleton,
    angles: Mapping[str, np.ndarray],
    position=(0.0, 0.0),
    yaw: float = 0.0,
    ground_contact: bool = True,
    plant_feet: bool = True,
) -> Pose:
    """Joint positions of a posed skeleton for every time sample.

    Args:
        skeleton: segment lengths.
        angles: joint angles, each (T,) or a scalar (see the module docstring for keys).
        position: (x, y) world mm of the standing point on the floor (default origin).
        yaw: facing direction, radians from the world X axis (default 0).
        ground_contact: put the lower foot on the floor (plus ``hop``) (default True);
            otherwise the root stays at standing hip height plus ``hop``.
        plant_feet: shift the root horizontally so the stance foot (the lower one; both
            equally when level) stays under its hip's rest position (default True); the
            ``fwd`` / ``side`` offsets are added on top.

    Shapes:
        angles[...]: (T,) -> Pose with T samples
    """
    unknown = sorted(set(angles) - set(ANGLE_KEYS))
    if unknown:
        raise ValueError(f"unknown angle key(s) {unknown}; valid: {', '.join(ANGLE_KEYS)}")
    lengths = [np.size(v) for v in angles.values() if np.ndim(v) > 0]
    T = max(lengths) if lengths else 1
    if any(n not in (1, T) for n in lengths):
        raise ValueError(f"angle arrays have different lengths {sorted(set(lengths))}")
    a = {k: _get(angles, k, T) for k in ANGLE_KEYS}
    sk = skeleton

    # Trunk rotation in base coordinates (forward, left, up): twist @ pitch @ roll.
    cp, sp = np.cos(a["pitch"]), np.sin(a["pitch"])
    cr, sr = np.cos(a["roll"]), np.sin(a["roll"])
    ct, st = np.cos(a["twist"]), np.sin(a["twist"])
    # roll about forward: up -> left for positive roll
    Rroll = _mat(T, [[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    # pitch about left: up -> forward for positive pitch
    Rpitch = _mat(T, [[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    # twist about up: forward -> left for positive twist
    Rtwist = _mat(T, [[ct, -st, 0], [st, ct, 0], [0, 0, 1]])
    Rtrunk = Rtwist @ Rpitch @ Rroll  # (T, 3, 3), columns = trunk axes in base coords

    def trunk_point(p):
        return np.einsum("tij,j->ti", Rtrunk, np.asarray(p, dtype=np.float64))

    J = np.zeros((T, NUM_JOINTS, 3))  # base coordinates, root (mid-hip) at the origin
    ji = JOINT_INDEX
    J[:, ji["hipR"]] = trunk_point([0, -sk.hip_half_width, 0])
    J[:, ji["hipL"]] = trunk_point([0, sk.hip_half_width, 0])
    J[:, ji["shoulderR"]] = trunk_point([0, -sk.shoulder_half_width, sk.trunk])
    J[:, ji["shoulderL"]] = trunk_point([0, sk.shoulder_half_width, sk.trunk])
    J[:, ji["head"]] = trunk_point([sk.head_forward, 0, sk.trunk + sk.neck_head])

    hand_dir = np.zeros((T, 2, 3))
    toe_dir = np.zeros((T, 2, 3))
    sole_up = np.zeros((T, 2, 3))
    for k, (s, side) in enumerate((("r", -1.0), ("l", 1.0))):
        # arm, in trunk coordinates, then rotated into the base frame
        d, w0 = _limb_dirs(a[f"sh_flex_{s}"], a[f"sh_abd_{s}"], side)
        u = -side * np.cross(d, w0)
        rho = a[f"sh_rot_{s}"][:, None]
        w = np.cos(rho) * w0 + np.sin(rho) * u
        e = a[f"elbow_{s}"][:, None]
        fdir = np.cos(e) * d + np.sin(e) * w
        d = np.einsum("tij,tj->ti", Rtrunk, d)
        fdir = np.einsum("tij,tj->ti", Rtrunk, fdir)
        sh = J[:, ji[f"shoulder{s.upper()}"]]
        elbow = sh + sk.upper_arm * d
        J[:, ji[f"elbow{s.upper()}"]] = elbow
        J[:, ji[f"hand{s.upper()}"]] = elbow + sk.forearm * fdir
        hand_dir[:, k] = fdir
        # leg, in base coordinates
        d, w0 = _limb_dirs(a[f"hip_flex_{s}"], a[f"hip_abd_{s}"], side)
        kn = a[f"knee_{s}"][:, None]
        shin = np.cos(kn) * d - np.sin(kn) * w0
        toe = np.sin(kn) * d + np.cos(kn) * w0  # perpendicular to the shin, forward
        an = a[f"ankle_{s}"][:, None]
        toe_r = np.cos(an) * toe - np.sin(an) * shin  # toes up for positive ankle
        hip = J[:, ji[f"hip{s.upper()}"]]
        knee = hip + sk.thigh * d
        J[:, ji[f"knee{s.upper()}"]] = knee
        J[:, ji[f"foot{s.upper()}"]] = knee + sk.shin * shin
        toe_dir[:, k] = toe_r
        sole_up[:, k] = -np.cos(an) * shin - np.sin(an) * toe

    # Root height: the lower foot joint at ankle height (plus hop), else standing height.
    feet = J[:, [ji["footR"], ji["footL"]]]
    if ground_contact:
        root_z = sk.ankle_height - feet[:, :, 2].min(axis=1) + a["hop"]
    else:
        root_z = np.full(T, sk.hip_height) + a["hop"]
    root = np.stack([a["fwd"], a["side"], root_z], axis=-1)
    if plant_feet:
        # Keep the stance foot where it stands at rest (under its hip): the lower foot
        # weighs more, smoothly (a 15 mm logistic), both equally when both are down.
        w_r = 1.0 / (1.0 + np.exp(np.clip((feet[:, 0, 2] - feet[:, 1, 2]) / 15.0, -50, 50)))
        rest = np.array([[0.0, -sk.hip_half_width], [0.0, sk.hip_half_width]])
        slip = w_r[:, None] * (rest[0] - feet[:, 0, :2]) + (1 - w_r)[:, None] * (rest[1] - feet[:, 1, :2])
        root[:, :2] += slip
    J += root[:, None, :]

    # Base (forward, left, up) -> world: turn by yaw + extra yaw, then translate.
    psi = float(yaw) + a["yaw"]
    c, s_ = np.cos(psi), np.sin(psi)
    B = _mat(T, [[c, -s_, 0], [s_, c, 0], [0, 0, 1]])  # columns: forward, left, up in world
    px, py = (float(v) for v in position)
    offset = np.array([px, py, 0.0])

    def to_world_dir(v):
        return np.einsum("tij,t...j->t...i", B, v)

    joints = to_world_dir(J) + offset
    trunk_axes = B @ Rtrunk  # columns: trunk forward, left, up in world
    return Pose(
        joints=joints,
        up=trunk_axes[:, :, 2],
        forward=trunk_axes[:, :, 0],
        left=trunk_axes[:, :, 1],
        hand_dir=to_world_dir(hand_dir),
        toe_dir=to_world_dir(toe_dir),
        sole_up=to_world_dir(sole_up),
    )


def _mat(T: int, rows) -> np.ndarray:
    """(T, 3, 3) from a 3x3 nested list of scalars or (T,) arrays."""
    out = np.empty((T, 3, 3))
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            out[:, i, j] = v
    return out
