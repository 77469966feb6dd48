"""Skeleton, body and movements: rigid bones, smooth trajectories, feet on the floor."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from evpose.synth.body import PRIMITIVE_NAMES, PRIMITIVE_PART, make_subject, sample_subject
from evpose.synth.motions import MOTION_TYPES
from evpose.synth.movements import BASIC_MOVEMENTS, MOVEMENTS, MotionParams, movement_angles, sample_motion_params
from evpose.synth.scene import Actor
from evpose.synth.skeleton import Skeleton, forward_kinematics
from evpose.types import JOINT_INDEX, NUM_PARTS, PART_NAMES, SKELETON_EDGES

T_S = np.linspace(0.0, 4.0, 801)  # 5 ms steps


def test_at_least_ten_motion_types_and_dhp19_many_movements():
    assert len([m for m in MOTION_TYPES if m != "static"]) >= 10
    assert len(MOVEMENTS) == 33
    assert set(BASIC_MOVEMENTS) == set(MOTION_TYPES) - {"static"}


@pytest.mark.parametrize("movement", list(MOVEMENTS))
def test_bones_rigid_and_motion_smooth(movement):
    rng = np.random.default_rng(zlib.crc32(movement.encode()))
    subject = sample_subject(rng)
    motion = sample_motion_params(rng)
    J = Actor(subject, movement, motion, position=(100, -50), yaw=-1.5).joints(T_S)
    assert np.isfinite(J).all()
    # every edge of DHP19's skeleton keeps its length within 1e-3 relative
    for i, j in SKELETON_EDGES:
        L = np.linalg.norm(J[:, i] - J[:, j], axis=-1)
        assert np.ptp(L) / L.mean() < 1e-3, (movement, i, j)
    # smooth: no joint faster than a snap kick's foot, 7 cm in 5 ms (14 m/s), and no
    # jump in velocity (second differences stay small)
    assert np.linalg.norm(np.diff(J, axis=0), axis=-1).max() < 70.0
    assert np.linalg.norm(np.diff(J, 2, axis=0), axis=-1).max() < 8.0
    # the body moves (except 'static'), and stays above the floor
    assert np.ptp(J, axis=0).max() > 30.0
    feet = J[:, [JOINT_INDEX["footR"], JOINT_INDEX["footL"]], 2]
    assert feet.min() >= subject.skeleton.ankle_height - 1.0
    # the lower foot is on the floor unless the movement jumps
    on_floor = np.isclose(feet.min(axis=1), subject.skeleton.ankle_height, atol=1.0).mean()
    assert on_floor > (0.4 if movement.startswith(("jog", "jumping", "high_knees")) else 0.99)


def test_standing_proportions():
    sk = Skeleton.from_height(1800.0)
    assert sk.height == pytest.approx(1800.0)
    J = forward_kinematics(sk, {}, position=(0, 0), yaw=0.0).joints[0]
    z = J[:, 2]
    assert z[JOINT_INDEX["footR"]] == pytest.approx(sk.ankle_height)
    assert z[JOINT_INDEX["hipR"]] == pytest.approx(sk.hip_height)
    assert z[JOINT_INDEX["head"]] + sk.head_top == pytest.approx(1800.0)
    # facing +x: the right side is -y
    assert J[JOINT_INDEX["shoulderR"], 1] < 0 < J[JOINT_INDEX["shoulderL"], 1]


def test_yaw_and_position_move_the_whole_body():
    sk = Skeleton.from_height(1700.0)
    a = movement_angles("walk", T_S[:50], MotionParams(), sk)
    J0 = forward_kinematics(sk, a, (0, 0), 0.0).joints
    J1 = forward_kinematics(sk, a, (500, -200), np.pi / 2).joints
    R = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]])
    np.testing.assert_allclose(J1, J0 @ R.T + [500, -200, 0], atol=1e-9)


def test_zero_speed_is_still():
    subject = make_subject(1700)
    J = Actor(subject, "punches", MotionParams(speed=0.0, phase=1.0)).joints(T_S)
    assert np.ptp(J, axis=0).max() == 0.0
    J = Actor(subject, "static", MotionParams()).joints(T_S)
    assert np.ptp(J, axis=0).max() == 0.0


def test_speed_scales_cadence():
    subject = make_subject(1700)
    slow = Actor(subject, "arm_raises", MotionParams(speed=1.0)).joints(T_S)
    fast = Actor(subject, "arm_raises", MotionParams(speed=2.0)).joints(T_S[::2] / 2)
    # at twice the speed, t/2 looks like t at speed 1
    np.testing.assert_allclose(fast, slow[::2][: len(fast)], atol=1e-6)


def test_unknown_movement_lists_valid_ones():
    with pytest.raises(ValueError, match="unknown movement 'moonwalk'; valid: walk, jog"):
        Actor(make_subject(), "moonwalk")


def test_unknown_angle_key():
    with pytest.raises(ValueError, match="unknown angle key"):
        forward_kinematics(Skeleton.from_height(1700), {"elbow_x": 0.1})


def test_subject_variation_and_parts():
    rng = np.random.default_rng(0)
    subjects = [sample_subject(rng) for _ in range(40)]
    heights = np.array([s.height for s in subjects])
    assert heights.min() >= 1500 and heights.max() <= 1950 and np.ptp(heights) > 250
    girth = np.array([s.params["girth"] for s in subjects])
    assert girth.min() >= 0.85 and girth.max() <= 1.25
    # every named part has at least one volumetric primitive
    assert set(PRIMITIVE_PART.tolist()) == set(range(NUM_PARTS)) and len(PART_NAMES) >= 10
    thin, wide = make_subject(1700, girth=0.9), make_subject(1700, girth=1.2)
    np.testing.assert_allclose(wide.radii[1:] / thin.radii[1:], 1.2 / 0.9)


def test_capsules_follow_the_joints():
    subject = make_subject(1750)
    actor = Actor(subject, "kicks", MotionParams(phase=0.4))
    pose = actor.pose(T_S[:20])
    caps = subject.capsules(pose)
    J = pose.joints
    name = {n: m for m, n in enumerate(PRIMITIVE_NAMES)}
    np.testing.assert_allclose(caps.a[:, name["upper_arm_r"]], J[:, JOINT_INDEX["shoulderR"]])
    np.testing.assert_allclose(caps.b[:, name["thigh_l"]], J[:, JOINT_INDEX["kneeL"]])
    np.testing.assert_allclose(caps.b[:, name["shin_r"]], J[:, JOINT_INDEX["footR"]])
    # capsule lengths are constant (rigid primitives)
    L = np.linalg.norm(caps.b - caps.a, axis=-1)
    assert np.ptp(L, axis=0).max() < 1e-6
