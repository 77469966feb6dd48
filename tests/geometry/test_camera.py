"""Cameras on the real DHP19 matrices."""

from __future__ import annotations

import numpy as np
import pytest

from evpose.geometry import Camera, compose_projection, decompose_projection, dhp19_raw_projection


@pytest.mark.parametrize("name", ["cam1", "cam2", "cam3", "cam4"])
def test_dhp19_origin_bottom_and_head_height_top(dhp19_cams, name):
    cam = dhp19_cams[name]
    x0, y0 = cam.project(np.array([0.0, 0.0, 0.0]))
    x1, y1 = cam.project(np.array([0.0, 0.0, 1800.0]))
    assert 0 <= x0 < 346 and 0 <= x1 < 346
    assert y0 > 0.75 * 260, "the world origin (floor) should project near the image bottom"
    assert y1 < 0.25 * 260, "1.8 m above the origin should project near the image top"
    assert cam.depth(np.zeros(3)) > 0


@pytest.mark.parametrize("name", ["cam1", "cam2", "cam3", "cam4"])
def test_matches_dhp19_published_convention(dhp19_cams, name):
    """Camera.from_dhp19 equals the published formula x = u/w, y = 260 - v/w."""
    P = dhp19_raw_projection(name)
    X = np.random.default_rng(0).uniform(-1000, 1000, (50, 3)) + [0, 0, 1000]
    uvw = np.c_[X, np.ones(50)] @ P.T
    want = np.c_[uvw[:, 0] / uvw[:, 2], 260 - uvw[:, 1] / uvw[:, 2]]
    np.testing.assert_allclose(dhp19_cams[name].project(X), want, atol=1e-9)


@pytest.mark.parametrize("name", ["cam1", "cam2", "cam3", "cam4"])
def test_decompose_recompose(dhp19_cams, name):
    cam = dhp19_cams[name]
    K, R, t = decompose_projection(cam.P * -3.7)  # scale and sign are free
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)
    assert K[0, 0] > 0 and K[1, 1] > 0 and K[2, 2] == 1 and K[1, 0] == K[2, 0] == K[2, 1] == 0
    P2 = compose_projection(K, R, t)
    np.testing.assert_allclose(P2, cam.P, rtol=1e-9, atol=1e-9 * np.abs(cam.P).max())
    # camera centre equals DHP19's published position
    C = np.load(__import__("importlib.resources").resources.files("evpose.resources") / "dhp19" / "camera_positions.npy")
    np.testing.assert_allclose(cam.center, C[int(name[-1]) - 1], atol=1.0)


def test_dict_round_trip(dhp19_cams):
    cam = dhp19_cams["cam3"]
    cam2 = Camera.from_dict(cam.to_dict())
    np.testing.assert_array_equal(cam2.P, cam.P)
    assert cam2.name == "cam3" and cam2.sensor_size == (260, 346)


def test_bad_projection():
    with pytest.raises(ValueError, match="3x4"):
        decompose_projection(np.eye(3))
    with pytest.raises(ValueError, match="singular"):
        decompose_projection(np.zeros((3, 4)))
