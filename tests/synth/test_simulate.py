"""Simulated recordings: labels on the right body part, rates, noise, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from evpose.geometry import dhp19_cameras
from evpose.synth import Actor, EventModel, MotionParams, Scene, build_scene, preset_config, synthesize_recording
from evpose.synth.background import sample_room
from evpose.synth.body import make_subject
from evpose.synth.cameras import facing_yaw, standing_point
from evpose.synth.simulate import simulate_camera


def part_distance_px(scene, cam, ev):
    """Pixel distance of every event to the nearest projected capsule of the part (and
    person) that labels it, computed here from the actors' capsules at the event time:
    project both axis ends, radius r f / depth, distance to the segment minus the radius."""
    caps = scene.capsules(ev["t"] * 1e-6)
    f = 0.5 * (cam.K[0, 0] + cam.K[1, 1])
    p = np.stack([ev["x"], ev["y"]], axis=1).astype(float)
    d = np.full(len(ev), np.inf)
    for m in range(len(caps.part)):
        sel = (ev["part"] == caps.part[m]) & (ev["person"] == caps.person[m])
        if not sel.any():
            continue
        A, B = caps.a[sel, m], caps.b[sel, m]
        pa, pb = cam.project(A), cam.project(B)
        ra, rb = caps.ra[m] * f / cam.depth(A), caps.rb[m] * f / cam.depth(B)
        v, q = pb - pa, p[sel] - pa
        s = np.clip((q * v).sum(1) / np.maximum((v * v).sum(1), 1e-12), 0, 1)
        dist = np.linalg.norm(q - s[:, None] * v, axis=1) - (ra + s * (rb - ra))
        d[sel] = np.minimum(d[sel], dist)
    return d


@pytest.mark.parametrize("movement, max_step_px", [("jumping_jacks", 1.0), ("kicks", 2.0), ("clapping", 2.0)])
def test_labelled_events_lie_on_their_part(movement, max_step_px):
    cfg = preset_config("demo", cameras=["cam2", "cam4"], duration_s=0.2, max_step_px=max_step_px)
    rec = synthesize_recording(3, movement, seed=1, config=cfg)
    scene, _ = build_scene(cfg, 1, 3, movement)
    for name, cam in rec.cameras.items():
        ev = rec.events[name]
        lab = ev[ev["part"] >= 0]
        assert len(lab) > 5000
        assert set(np.unique(lab["person"]).tolist()) == {0}
        lab = lab[np.random.default_rng(0).choice(len(lab), 8000, replace=False)] if len(lab) > 8000 else lab
        d = part_distance_px(scene, cam, lab)
        assert (d <= 3.0).mean() >= 0.95, (name, (d <= 3.0).mean())
        # and the events cover several parts, each on itself
        assert len(np.unique(lab["part"])) >= 5


def scene_one_camera(movement, speed, cam="cam2"):
    cams = {cam: dhp19_cameras()[cam]}
    p = standing_point(dhp19_cameras())
    actor = Actor(make_subject(1750), movement, MotionParams(speed=speed, phase=0.3), tuple(p), facing_yaw(dhp19_cameras(), p))
    return Scene((actor,), cams, sample_room(np.random.default_rng(0), cams))


QUIET = EventModel(noise_rate_hz=0.0, hot_pixel_fraction=0.0, max_step_px=2.0)


def test_event_rate_rises_with_speed():
    counts = []
    for speed in (0.5, 1.0, 2.0):
        scene = scene_one_camera("arm_raises", speed)
        ev = simulate_camera(scene, scene.cameras["cam2"], 600_000, np.random.default_rng(0), QUIET).events
        counts.append(len(ev))
    assert counts[0] > 1000
    assert counts[1] > 1.4 * counts[0] and counts[2] > 1.4 * counts[1], counts


@pytest.mark.parametrize("how", ["static", "speed0"])
def test_still_body_gives_only_noise(how):
    movement, speed = ("static", 1.0) if how == "static" else ("jumping_jacks", 0.0)
    scene = scene_one_camera(movement, speed)
    cam = scene.cameras["cam2"]
    ev = simulate_camera(scene, cam, 400_000, np.random.default_rng(0), QUIET).events
    assert len(ev) == 0
    noisy = EventModel(noise_rate_hz=2.0, hot_pixel_fraction=0.0)
    ev = simulate_camera(scene, cam, 400_000, np.random.default_rng(0), noisy).events
    assert len(ev) > 0 and (ev["part"] == -1).all() and (ev["person"] == -1).all()
    expected = 2.0 * 260 * 346 * 0.4
    assert abs(len(ev) - expected) < 5 * np.sqrt(expected)
    assert abs(ev["p"].mean() - 0.5) < 0.02
    assert np.all(np.diff(ev["t"]) >= 0) and ev["t"].min() >= 0 and ev["t"].max() < 400_000


def test_determinism_and_seeds():
    cfg = preset_config("demo", cameras=["cam3"], duration_s=0.2)
    a = synthesize_recording(2, "punches", seed=5, config=cfg)
    b = synthesize_recording(2, "punches", seed=5, config=cfg)
    c = synthesize_recording(2, "punches", seed=6, config=cfg)
    assert a.events["cam3"].tobytes() == b.events["cam3"].tobytes()
    np.testing.assert_array_equal(a.joints3d, b.joints3d)
    assert len(c.events["cam3"]) != len(a.events["cam3"]) or a.events["cam3"].tobytes() != c.events["cam3"].tobytes()
    assert not np.allclose(a.joints3d, c.joints3d)


def test_poses_at_100_hz_match_the_actor():
    cfg = preset_config("demo", cameras=["cam2"], duration_s=0.25)
    rec = synthesize_recording(4, "squats", seed=0, config=cfg)
    np.testing.assert_array_equal(rec.pose_t, np.arange(0, 250_001, 10_000))
    scene, _ = build_scene(cfg, 0, 4, "squats")
    np.testing.assert_allclose(rec.joints3d[0], scene.actors[0].joints(rec.pose_t * 1e-6))
    ev = rec.events["cam2"]
    assert np.all(np.diff(ev["t"]) >= 0) and ev["t"][-1] < 250_000


def test_dhp19_like_rates():
    """Per camera, some 50k..500k events per second during motion: a 7500-event window
    spans some 10..100 ms, as in DHP19 (walking in place is among the slowest movements)."""
    cfg = preset_config("demo", cameras=["cam2"], duration_s=0.5)
    rec = synthesize_recording(1, "walk", seed=0, config=cfg)
    ev = rec.events["cam2"]
    rate = len(ev) / 0.5
    assert 5e4 <= rate <= 5e5, rate
    span_ms = (ev["t"][7500::7500] - ev["t"][:-7500:7500][: len(ev["t"][7500::7500])]) / 1000
    assert 10 <= np.median(span_ms) <= 150
    noise = (ev["part"] < 0).mean()
    assert 0.01 < noise < 0.3
    assert abs(ev["p"].mean() - 0.5) < 0.1


def test_two_people():
    cfg = preset_config("demo", cameras=["cam2"], duration_s=0.3, num_persons=2)
    rec = synthesize_recording(1, "walk", seed=0, config=cfg)
    assert rec.joints3d.shape[:3] == (2, 31, 13)
    ev = rec.events["cam2"]
    people = ev["person"][ev["part"] >= 0]
    assert set(np.unique(people).tolist()) == {0, 1}
    assert (ev["person"][ev["part"] < 0] == -1).all()
    # they stand apart, and the second one does another movement
    gap = np.linalg.norm(rec.joints3d[0, :, :, :2].mean(axis=(0, 1)) - rec.joints3d[1, :, :, :2].mean(axis=(0, 1)))
    assert 700 < gap < 1600
    assert rec.info["actors"][1]["movement"] != "walk"
    scene, _ = build_scene(cfg, 0, 1, "walk")
    d = part_distance_px(scene, rec.cameras["cam2"], ev[ev["part"] >= 0])
    assert (d <= 3.0).mean() >= 0.95


def test_generic_pinhole_camera():
    cam = {"name": "side", "position": [2500, -2500, 1400], "look_at": [0, 0, 900], "focal": 160.0, "width": 160, "height": 120}
    cfg = preset_config("demo", cameras=[cam], duration_s=0.2)
    rec = synthesize_recording(2, "arm_circles", seed=0, config=cfg)
    ev = rec.events["side"]
    assert rec.cameras["side"].sensor_size == (120, 160)
    assert len(ev) > 300 and ev["x"].max() < 160 and ev["y"].max() < 120
    scene, _ = build_scene(cfg, 0, 2, "arm_circles")
    # the person stands where this camera sees the whole body
    J = rec.joints3d[0]
    assert rec.cameras["side"].in_image(rec.cameras["side"].project(J)).all()
    lab = ev[ev["part"] >= 0]
    assert (part_distance_px(scene, rec.cameras["side"], lab) <= 3.0).mean() >= 0.95
