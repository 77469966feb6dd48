"""Cameras of the synthetic scene: DHP19 by default, generic pinholes, placement of people."""

from __future__ import annotations

import numpy as np
import pytest

from evpose.geometry import dhp19_cameras
from evpose.synth.body import make_subject
from evpose.synth.cameras import facing_yaw, look_at_camera, resolve_cameras, standing_point
from evpose.synth.movements import MotionParams
from evpose.synth.scene import Actor


def test_default_is_dhp19():
    cams = resolve_cameras()
    assert list(cams) == ["cam1", "cam2", "cam3", "cam4"]
    ref = dhp19_cameras()
    for n in cams:
        np.testing.assert_array_equal(cams[n].P, ref[n].P)
        assert cams[n].sensor_size == (260, 346)


def test_camera_specs():
    K = np.array([[300.0, 0, 160], [0, 300, 120], [0, 0, 1]])
    R = np.eye(3)
    t = np.array([0.0, 0.0, 3000.0])
    cams = resolve_cameras(
        [
            {"name": "a", "K": K, "R": R, "t": t, "width": 320, "height": 240},
            {"name": "b", "P": K @ np.c_[R, t], "width": 320, "height": 240},
            {"name": "c", "position": [0, -3000, 1000], "look_at": [0, 0, 1000], "focal": 300, "width": 320, "height": 240},
            "cam2",
        ]
    )
    assert list(cams) == ["a", "b", "c", "cam2"]
    np.testing.assert_allclose(cams["b"].P, cams["a"].P, atol=1e-9)
    # look_at: the target lands on the principal point, world up is image up
    c = cams["c"]
    np.testing.assert_allclose(c.project(np.array([0.0, 0.0, 1000.0])), [159.5, 119.5], atol=1e-9)
    assert c.project(np.array([0.0, 0.0, 1500.0]))[1] < 119.5


@pytest.mark.parametrize(
    "spec, kwargs, match",
    [
        ([], {}, "no cameras"),
        ("kinect", {}, "unknown camera option 'kinect'; valid: 'dhp19'"),
        (["cam9"], {}, "unknown camera 'cam9'; valid DHP19 names: cam1, cam2, cam3, cam4"),
        ("dhp19", {"sensor_size": (480, 640)}, r"does not match the DHP19 camera matrices.*\(260, 346\)"),
        (["cam2"], {"sensor_size": (480, 640)}, r"cam2.*does not match its matrices"),
        (
            [{"name": "x", "K": [[300, 0, 500], [0, 300, 120], [0, 0, 1]], "R": np.eye(3), "t": [0, 0, 1], "width": 320, "height": 240}],
            {},
            r"principal point \(500.0, 120.0\) lies outside its 320x240 sensor",
        ),
        ([{"name": "x", "width": 10, "height": 10}], {}, "give K, R and t, or P, or position"),
        ([{"name": "x", "P": np.eye(3)}], {}, "missing 'width'"),
        (["cam2", "cam2"], {}, "duplicate camera name 'cam2'"),
    ],
)
def test_bad_camera_options(spec, kwargs, match):
    with pytest.raises(ValueError, match=match):
        resolve_cameras(spec, **kwargs)


def test_dhp19_standing_point_and_facing():
    cams = dhp19_cameras()
    p = standing_point(cams)
    # DHP19's subjects stand near the calibration origin, facing cameras 2 and 3 (-y)
    assert np.linalg.norm(p) < 300
    yaw = facing_yaw(cams, p)
    assert abs(np.degrees(yaw) - (-90)) < 10


@pytest.mark.parametrize("height", [1500.0, 1750.0, 1950.0])
@pytest.mark.parametrize("movement", ["walk", "squats", "punches", "kicks", "toe_touch", "torso_twist"])
def test_joints_of_a_placed_body_are_inside_every_dhp19_image(height, movement):
    # (overhead arms of tall subjects and wide side lunges leave DHP19's side views at
    # times, as in the real recordings: their 2D labels are then masked, not clipped)
    cams = dhp19_cameras()
    p = standing_point(cams)
    actor = Actor(make_subject(height), movement, MotionParams(), tuple(p), facing_yaw(cams, p))
    J = actor.joints(np.linspace(0, 3, 61))
    for name, cam in cams.items():
        xy = cam.project(J)
        assert cam.in_image(xy).all(), (name, height, movement)
        assert (cam.depth(J) > 0).all()


def test_generic_rig_gets_its_own_standing_point():
    # two cameras looking at (2000, 1000) from 3.5 m
    target = np.array([2000.0, 1000.0, 900.0])
    cams = {
        n: look_at_camera(n, target + off, target, 300.0, 320, 240)
        for n, off in (("a", [0, -3500, 1200]), ("b", [3500, 0, 1200]))
    }
    p = standing_point(cams)
    assert np.linalg.norm(p - target[:2]) < 600
    actor = Actor(make_subject(1800), "walk", MotionParams(), tuple(p), facing_yaw(cams, p))
    J = actor.joints(np.linspace(0, 2, 21))
    for cam in cams.values():
        assert cam.in_image(cam.project(J)).all()
