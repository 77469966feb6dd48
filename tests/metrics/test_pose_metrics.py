"""Pose metrics on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from evpose.metrics import (
    JointErrorMetric,
    auc_pck,
    mpjpe,
    pa_mpjpe,
    pck,
    pck3d,
    per_joint_mpjpe,
    procrustes_align,
)


def test_mpjpe_hand_computed():
    target = torch.zeros(1, 3, 2)
    pred = torch.tensor([[[3.0, 4.0], [0.0, 1.0], [6.0, 8.0]]])  # errors 5, 1, 10
    assert mpjpe(pred, target).item() == pytest.approx(16 / 3)
    w = torch.tensor([[1.0, 1.0, 0.0]])  # third joint invisible
    assert mpjpe(pred, target, w).item() == pytest.approx(3.0)
    # numpy input works the same
    assert mpjpe(pred.numpy(), target.numpy(), w.numpy()).item() == pytest.approx(3.0)


def test_mpjpe_averages_over_valid_joints_of_the_batch():
    target = torch.zeros(2, 2, 3)
    pred = torch.zeros(2, 2, 3)
    pred[0, 0, 0] = 10.0  # sample 0: errors 10, 0 (both valid)
    pred[1, 1, 2] = 40.0  # sample 1: joint 0 invalid, joint 1 error 40
    w = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    assert mpjpe(pred, target, w).item() == pytest.approx(50 / 3)
    np.testing.assert_allclose(per_joint_mpjpe(pred, target, w).numpy(), [10.0, 20.0])


def test_nan_target_joints_are_skipped_and_all_invalid_is_nan():
    target = torch.tensor([[[0.0, 0.0], [float("nan"), 0.0]]])
    pred = torch.tensor([[[1.0, 0.0], [100.0, 0.0]]])
    assert mpjpe(pred, target).item() == pytest.approx(1.0)
    assert math.isnan(mpjpe(pred, target, torch.zeros(1, 2)).item())


def test_pck_thresholds_inclusive():
    target = torch.zeros(1, 4, 2)
    pred = torch.tensor([[[5.0, 0.0], [0.0, 5.01], [10.0, 0.0], [3.0, 4.0]]])  # 5, 5.01, 10, 5
    assert pck(pred, target, 5.0).item() == pytest.approx(0.5)
    assert pck(pred, target, 10.0).item() == pytest.approx(1.0)


def test_pck3d_and_auc_hand_computed():
    target = torch.zeros(1, 2, 3)
    pred = torch.tensor([[[0.0, 0.0, 12.0], [0.0, 149.0, 0.0]]])
    assert pck3d(pred, target).item() == pytest.approx(1.0)
    # joint 0 (12 mm) is within thresholds 15..150 -> 28 of 31; joint 1 (149 mm) only at 150 -> 1 of 31
    assert auc_pck(pred, target).item() == pytest.approx((28 + 1) / 31 / 2)


def test_pa_mpjpe_removes_similarity_transform():
    rng = np.random.default_rng(0)
    target = torch.tensor(rng.normal(0, 300, (4, 13, 3)))
    angle = 0.7
    R = torch.tensor([[math.cos(angle), -math.sin(angle), 0], [math.sin(angle), math.cos(angle), 0], [0, 0, 1.0]], dtype=torch.float64)
    pred = 1.3 * target @ R.T + torch.tensor([100.0, -50.0, 20.0], dtype=torch.float64)
    assert mpjpe(pred, target).item() > 100
    assert pa_mpjpe(pred, target).item() == pytest.approx(0.0, abs=1e-8)
    np.testing.assert_allclose(procrustes_align(pred, target).numpy(), target.numpy(), atol=1e-8)


def test_pa_does_not_use_a_reflection():
    target = torch.tensor([[[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1.0]]], dtype=torch.float64)
    mirrored = target.clone()
    mirrored[..., 0] *= -1
    assert pa_mpjpe(mirrored, target).item() > 0.1


def test_running_metric_equals_pure_function():
    rng = np.random.default_rng(1)
    preds = [torch.tensor(rng.normal(0, 10, (3, 13, 2))) for _ in range(4)]
    targets = [torch.tensor(rng.normal(0, 10, (3, 13, 2))) for _ in range(4)]
    weights = [torch.tensor(rng.integers(0, 2, (3, 13)), dtype=torch.float64) for _ in range(4)]
    m = JointErrorMetric("mpjpe", 13)
    m5 = JointErrorMetric("pck", 13, threshold=5.0)
    for p, t, w in zip(preds, targets, weights):
        m.update(p, t, w)
        m5.update(p, t, w)
    P, T, W = torch.cat(preds), torch.cat(targets), torch.cat(weights)
    assert m.compute().item() == pytest.approx(mpjpe(P, T, W).item())
    assert m5.compute().item() == pytest.approx(pck(P, T, 5.0, W).item())
    np.testing.assert_allclose(m.per_joint().numpy(), per_joint_mpjpe(P, T, W).numpy())
    with pytest.raises(ValueError, match="unknown metric kind 'mae'"):
        JointErrorMetric("mae")


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match=r"pred shape \(1, 3, 2\) != target shape \(1, 2, 2\)"):
        mpjpe(torch.zeros(1, 3, 2), torch.zeros(1, 2, 2))
