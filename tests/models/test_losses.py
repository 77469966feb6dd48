"""Losses on hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch

from evpose.models.losses import IGNORE_LABEL, joint_loss, log_depth_loss, part_loss, part_targets, stage_sum


def test_joint_loss_l1_with_visibility():
    pred = torch.tensor([[[1.0, 2.0], [10.0, 0.0]]])
    target = torch.zeros(1, 2, 2)
    assert joint_loss(pred, target).item() == pytest.approx((3 + 10) / 2)
    assert joint_loss(pred, target, torch.tensor([[1.0, 0.0]])).item() == pytest.approx(3.0)
    assert joint_loss(pred, target, kind="l2").item() == pytest.approx((math.sqrt(5) + 10) / 2)
    # smooth L1 with beta 1: 0.5 * 1^2 + (2 - 0.5) for joint 0, (10 - 0.5) for joint 1
    assert joint_loss(pred, target, kind="smooth_l1").item() == pytest.approx((0.5 + 1.5 + 9.5) / 2)
    target[0, 1] = float("nan")  # unknown target joints count as weight 0
    assert joint_loss(pred, target).item() == pytest.approx(3.0)
    with pytest.raises(ValueError, match="unknown joint loss 'huber'"):
        joint_loss(pred, target, kind="huber")


def test_log_depth_loss():
    pred = torch.tensor([3000.0, 1500.0])
    target = torch.tensor([3000.0, 3000.0])
    assert log_depth_loss(pred, target).item() == pytest.approx(math.log(2) / 2)
    assert log_depth_loss(pred, target, torch.tensor([1.0, 0.0])).item() == pytest.approx(0.0)


def test_part_targets_and_loss():
    part = torch.tensor([0, 3, -1, -2])
    assert part_targets(part, 10).tolist() == [0, 3, 10, IGNORE_LABEL]
    logits = torch.zeros(4, 11)
    logits[0, 0] = 100.0
    loss = part_loss(logits, part_targets(part, 10))
    # node 0 certain and right (loss ~0); nodes 1, 2 uniform (ln 11 each); node 3 ignored
    assert loss.item() == pytest.approx(2 * math.log(11) / 3, rel=1e-5)
    assert part_loss(logits, torch.full((4,), IGNORE_LABEL)).item() == 0.0


def test_stage_sum():
    assert stage_sum([torch.tensor(1.0), torch.tensor(2.0)], [0.5, 1.0]).item() == pytest.approx(2.5)
    with pytest.raises(ValueError, match="2 stages but 3 stage weights"):
        stage_sum([torch.tensor(1.0)] * 2, [1, 1, 1])
