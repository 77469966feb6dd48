"""Triangulation, back-projection and RootNet's k factor."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from evpose.geometry import (
    back_project,
    box_area,
    camera_to_world,
    k_factor,
    project_points,
    triangulate_dlt,
    world_to_camera,
)


def _points(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform([-800, -800, 0], [800, 800, 1900], (n, 3))


@pytest.mark.parametrize("views", [("cam2", "cam3"), ("cam1", "cam2", "cam3", "cam4")])
def test_project_then_triangulate_recovers_points(dhp19_cams, views):
    X = _points()
    P = np.stack([dhp19_cams[v].P for v in views])
    xy = np.stack([dhp19_cams[v].project(X) for v in views])
    Xr = triangulate_dlt(xy, P)
    assert np.abs(Xr - X).max() < 1e-6  # mm
    Xt = triangulate_dlt(torch.tensor(xy), torch.tensor(P))
    assert (Xt.numpy() - X).__abs__().max() < 1e-6


def test_triangulate_batched_shapes_and_weights(dhp19_cams):
    X = _points(26).reshape(2, 13, 3)
    views = ("cam1", "cam2", "cam3")
    P = np.stack([dhp19_cams[v].P for v in views])
    xy = np.stack([dhp19_cams[v].project(X) for v in views])  # (V, 2, 13, 2)
    xy_bad = xy.copy()
    xy_bad[0] += 40.0  # view 0 is badly off ...
    w = np.ones(xy.shape[:-1])
    w[0] = 0.0  # ... and weighted out
    Xr = triangulate_dlt(xy_bad, P, weights=w)
    assert Xr.shape == (2, 13, 3) and np.abs(Xr - X).max() < 1e-6
    with pytest.raises(ValueError, match="at least 2 views"):
        triangulate_dlt(xy[:1], P[:1])


def test_back_project_inverts_projection(dhp19_cams):
    cam = dhp19_cams["cam3"]
    X = _points(50)
    Xc = cam.world_to_camera(X)
    xy = project_points(Xc, cam.K @ np.eye(3, 4))
    Xc2 = back_project(xy, Xc[:, 2], cam.K)
    np.testing.assert_allclose(Xc2, Xc, atol=1e-8)
    np.testing.assert_allclose(camera_to_world(Xc2, cam.R, cam.t), X, atol=1e-8)
    np.testing.assert_allclose(world_to_camera(X, cam.R, cam.t), Xc, atol=1e-8)
    # torch, batched over cameras, differentiable
    K = torch.tensor(np.stack([cam.K, cam.K]), requires_grad=True)
    d = torch.tensor(np.stack([Xc[:, 2]] * 2))
    out = back_project(torch.tensor(np.stack([xy, xy])), d, K)
    out.sum().backward()
    np.testing.assert_allclose(out[1].detach().numpy(), Xc, atol=1e-8)
    assert K.grad is not None


def test_k_factor_hand_computed():
    # a 2 m x 2 m box seen 200 px x 200 px by a camera with f = 300 px: Z = f * 2000 / 200 = 3000 mm
    assert k_factor(300.0, 300.0, 200.0 * 200.0) == pytest.approx(3000.0)
    assert k_factor(torch.tensor(300.0), torch.tensor(300.0), torch.tensor([40000.0, 0.0]))[0].item() == pytest.approx(3000.0)
    assert math.isfinite(k_factor(300.0, 300.0, 0.0))  # degenerate box is clamped, not infinite


def test_box_area_with_mask():
    xy = np.array([[0.0, 0.0], [10.0, 5.0], [100.0, 100.0]])
    assert box_area(xy) == pytest.approx(10000.0)
    assert box_area(xy, np.array([1, 1, 0])) == pytest.approx(50.0)
    assert box_area(torch.tensor(xy), torch.tensor([1, 1, 0])).item() == pytest.approx(50.0)
    assert box_area(xy, np.zeros(3)) == 0.0
    assert box_area(xy[:1], min_side=4.0) == pytest.approx(16.0)
    assert box_area(torch.tensor(xy[:2]), min_side=8.0).item() == pytest.approx(80.0)
