"""The capsule renderer against a per-pixel brute-force reference written here."""

from __future__ import annotations

import numpy as np
import pytest

from evpose.synth.body import Capsules, make_subject
from evpose.synth.cameras import look_at_camera
from evpose.synth.movements import MotionParams
from evpose.synth.clothing import Appearance
from evpose.synth.projection import boxes_region, capsule_boxes, project_capsules
from evpose.synth.render import CapsuleRenderer
from evpose.synth.texture import TextureAtlas
from evpose.synth.scene import Actor
from evpose.types import NUM_PARTS


def small_camera(width=48, height=36, focal=70.0):
    return look_at_camera("c", position=(400, -3200, 1100), look_at=(0, 0, 900), focal=focal, width=width, height=height)


def plain_appearance(M, albedo=0.5):
    return Appearance(
        albedo0=np.full(M, albedo), albedo1=np.full(M, albedo), split_u=np.full(M, np.inf), texture=np.zeros((M, 3, 4))
    )


def brute_force_labels(cam, caps: Capsules, b: int):
    """Per-pixel loop: the nearest capsule surface (label code) or -1."""
    f = 0.5 * (cam.K[0, 0] + cam.K[1, 1])
    prims = []
    for m in range(len(caps.part)):
        A, Bp = caps.a[b, m], caps.b[b, m]
        za, zb = float(cam.depth(A)), float(cam.depth(Bp))
        prims.append((cam.project(A), cam.project(Bp), caps.ra[m] * f / za, caps.rb[m] * f / zb, za, zb, m))
    out = np.full((cam.height, cam.width), -1)
    for y in range(cam.height):
        for x in range(cam.width):
            best = np.inf
            for pa, pb, ra, rb, za, zb, m in prims:
                vx, vy = pb[0] - pa[0], pb[1] - pa[1]
                qx, qy = x - pa[0], y - pa[1]
                s = min(max((qx * vx + qy * vy) / max(vx * vx + vy * vy, 1e-12), 0.0), 1.0)
                d = ((qx - s * vx) ** 2 + (qy - s * vy) ** 2) ** 0.5
                r = ra + s * (rb - ra)
                if d < r:
                    rmm = caps.ra[m] + s * (caps.rb[m] - caps.ra[m])
                    z = za + s * (zb - za) - rmm * (1 - (d / r) ** 2) ** 0.5
                    if z < best:
                        best, out[y, x] = z, caps.person[m] * NUM_PARTS + caps.part[m]
    return out


def render_all(cam, caps, appearance=None, light=(0.3, -0.5, 0.8), ambient=0.45, log_eps=None):
    M = len(caps.part)
    appearance = appearance or plain_appearance(M)
    lengths = np.linalg.norm(caps.b[0] - caps.a[0], axis=-1)
    radii = np.stack([caps.ra, caps.rb], axis=1)
    bg = np.full((cam.height, cam.width), 0.3, dtype=np.float32)
    r = CapsuleRenderer(cam, bg, appearance, lengths, radii, caps.person * NUM_PARTS + caps.part, light, ambient)
    proj = project_capsules(cam, caps)
    boxes = capsule_boxes(proj, cam.width, cam.height)
    return r, r.render(proj, boxes, boxes_region(boxes), log_eps=log_eps)


@pytest.fixture(scope="module")
def body_caps():
    actor = Actor(make_subject(1750), "jumping_jacks", MotionParams(phase=1.0), position=(0, 0), yaw=-np.pi / 2)
    return actor.capsules(np.array([0.0, 0.13, 0.41]))


def test_labels_match_brute_force(body_caps):
    cam = small_camera()
    _, fr = render_all(cam, body_caps)
    for b in range(3):
        ref = brute_force_labels(cam, body_caps, b)
        got = np.full((cam.height, cam.width), -1)
        ys, xs = fr.region.slices
        got[ys, xs] = fr.label[b]
        covered = ref >= 0
        assert covered.sum() > 60, "the body should cover a fair part of the small image"
        # float32 vs float64: allow a handful of pixels right on an outline to differ
        assert (got != ref).sum() <= max(3, 0.02 * covered.sum())


def test_nearer_capsule_wins():
    cam = small_camera()
    # two crossing bars, the second 400 mm nearer the camera (camera looks along +y)
    a = np.array([[[-600, 0, 900], [0, -400, 400]]], dtype=float)
    b = np.array([[[600, 0, 900], [0, -400, 1400]]], dtype=float)
    caps = Capsules(a, b, np.array([80.0, 80.0]), np.array([80.0, 80.0]), np.array([1, 2]), np.array([0, 0]), np.arange(2))
    _, fr = render_all(cam, caps)
    ref = brute_force_labels(cam, caps, 0)
    got = np.full(ref.shape, -1)
    got[fr.region.slices] = fr.label[0]
    cross = cam.project(np.array([0.0, -400.0, 900.0])).round().astype(int)
    assert got[cross[1], cross[0]] == 2 == ref[cross[1], cross[0]]
    assert (got != ref).sum() <= 3


def test_shading_of_a_plain_capsule():
    """A long horizontal capsule with constant albedo, light along the view direction:
    the axis pixel is brightest (albedo * 1), intensity follows ambient + (1 - ambient) cos."""
    cam = small_camera(60, 40, 60.0)
    target = np.array([0.0, 0.0, 900.0])
    a = (target - [500, 0, 0])[None, None]
    b = (target + [500, 0, 0])[None, None]
    caps = Capsules(a, b, np.array([150.0]), np.array([150.0]), np.array([1]), np.array([0]), np.arange(1))
    to_cam = cam.center - target
    light = to_cam / np.linalg.norm(to_cam)
    _, fr = render_all(cam, caps, plain_appearance(1, 0.8), light=light, ambient=0.25)
    img = np.full((40, 60), np.nan)
    img[fr.region.slices] = np.where(fr.label[0] >= 0, fr.intensity[0], np.nan)
    x0, y0 = cam.project(target)
    col = int(round(x0))
    column = img[:, col]
    ys = np.flatnonzero(np.isfinite(column))
    f = cam.K[1, 1]
    r_px = 150.0 * f / cam.depth(target)
    for y in ys:
        q = min(abs(y - y0) / r_px, 1.0)
        # surface normal n = (.., q, -sqrt(1 - q^2)) in camera axes; the light is the
        # direction to the camera centre, nearly the optical axis here
        light_cam = cam.R @ light
        ndl = max(q * np.sign(y - y0) * light_cam[1] - np.sqrt(1 - q * q) * light_cam[2], 0.0)
        assert column[y] == pytest.approx(0.8 * (0.25 + 0.75 * ndl), abs=0.02)
    assert np.nanmax(column) == pytest.approx(0.8, abs=0.01)


def test_batch_independence(body_caps):
    cam = small_camera()
    _, fr = render_all(cam, body_caps)
    for b in range(3):
        one = Capsules(body_caps.a[b : b + 1], body_caps.b[b : b + 1], *body_caps[2:])
        r, single = render_all(cam, one)
        ys, xs = single.region.slices
        full_i = np.full((cam.height, cam.width), 0.3, dtype=np.float32)
        full_i[fr.region.slices] = fr.intensity[b]
        np.testing.assert_array_equal(full_i[ys, xs], single.intensity[0])


def test_log_output_is_log_of_intensity(body_caps):
    cam = small_camera()
    _, lin = render_all(cam, body_caps)
    _, lg = render_all(cam, body_caps, log_eps=1e-3)
    np.testing.assert_allclose(lg.intensity, np.log(lin.intensity + 1e-3), atol=1e-5)
    np.testing.assert_array_equal(lg.label, lin.label)


def test_texture_atlas_matches_formula():
    rng = np.random.default_rng(0)
    M = 3
    tex = np.zeros((M, 3, 4))
    tex[..., 0] = rng.uniform(-1 / 40, 1 / 40, (M, 3))
    tex[..., 1] = rng.uniform(-1 / 40, 1 / 40, (M, 3))
    tex[..., 2] = rng.uniform(0, 6, (M, 3))
    tex[..., 3] = rng.uniform(0, 0.2, (M, 3))
    app = Appearance(np.array([0.3, 0.5, 0.7]), np.array([0.3, 0.9, 0.7]), np.array([np.inf, 100.0, np.inf]), tex)
    lengths = np.array([200.0, 300.0, 150.0])
    radii = np.array([[40.0, 30.0], [50.0, 50.0], [20.0, 35.0]])
    atlas = TextureAtlas(app, lengths, radii, texel=1.0)
    m = rng.integers(0, M, 2000)
    s = rng.uniform(0, 1, 2000).astype(np.float32)
    v = (rng.uniform(-1, 1, 2000) * radii[m].min(axis=1)).astype(np.float32)
    got = atlas.lookup(m.astype(np.int32), s, v)
    u = s * lengths[m]
    step = np.clip((u - app.split_u[m]) / 8.0 + 0.5, 0, 1)
    want = app.albedo0[m] + (app.albedo1[m] - app.albedo0[m]) * step
    want = want * (1 + (tex[m, :, 3] * np.sin(2 * np.pi * (tex[m, :, 0] * u[:, None] + tex[m, :, 1] * v[:, None]) + tex[m, :, 2])).sum(1))
    # nearest texel (1 mm) of patterns with wavelengths >= 40 mm, the hair split 8 mm wide
    np.testing.assert_allclose(got, want, atol=0.04)
