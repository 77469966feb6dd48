"""Losses on hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch

from evpose.models.losses import (
    IGNORE_LABEL,
    heatmap_log_targets,
    heatmap_loss,
    joint_loss,
    log_depth_loss,
    part_loss,
    part_targets,
    stage_sum,
)


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


def test_heatmap_targets_hand_computed_four_node_graph():
    # graph 0: nodes at x = 0, 2, 4 (y = 0); graph 1: one node. Joint 0 of graph 0 at (0, 0).
    xy = torch.tensor([[0.0, 0.0], [2.0, 0.0], [4.0, 0.0], [7.0, 7.0]])
    batch = torch.tensor([0, 0, 0, 1])
    joints = torch.tensor([[[0.0, 0.0]], [[100.0, 100.0]]])
    log_q = heatmap_log_targets(xy, joints, batch, sigma_px=2.0)
    # unnormalised exp(-d^2 / 8): 1, exp(-0.5), exp(-2); normalised over the graph's nodes
    g = [1.0, math.exp(-0.5), math.exp(-2.0)]
    expect = [v / sum(g) for v in g]
    assert log_q[:3, 0].exp().tolist() == pytest.approx(expect, rel=1e-6)
    # a graph's single node takes all the mass, however far the joint is
    assert log_q[3, 0].exp().item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="sigma_px must be positive"):
        heatmap_log_targets(xy, joints, batch, sigma_px=0.0)


def test_heatmap_loss_is_the_kl_divergence():
    batch = torch.tensor([0, 0, 0, 1])
    log_q = torch.log(torch.tensor([[0.5], [0.25], [0.25], [1.0]]))
    log_p = torch.log(torch.tensor([[0.25], [0.25], [0.5], [1.0]]))
    # graph 0: 0.5 ln 2 + 0.25 ln 1 + 0.25 ln 0.5 = 0.25 ln 2; graph 1: 0
    assert heatmap_loss(log_p, log_q, batch).item() == pytest.approx(0.25 * math.log(2) / 2)
    assert heatmap_loss(log_p, log_q, batch, torch.tensor([[1.0], [0.0]])).item() == pytest.approx(0.25 * math.log(2))
    assert heatmap_loss(log_q, log_q, batch).item() == pytest.approx(0.0, abs=1e-7)
    # a non-finite target (an unknown joint) counts as weight 0
    bad = log_q.clone()
    bad[3, 0] = float("nan")
    assert heatmap_loss(log_p, bad, batch).item() == pytest.approx(0.25 * math.log(2))
    # the gradient on the logits of a log-softmax is p - q
    logits = torch.zeros(3, 1, requires_grad=True)
    from torch_scatter.composite import scatter_log_softmax

    lp = scatter_log_softmax(logits, batch[:3], dim=0, dim_size=1)
    heatmap_loss(lp, log_q[:3], batch[:3]).backward()
    assert logits.grad[:, 0].tolist() == pytest.approx([1 / 3 - 0.5, 1 / 3 - 0.25, 1 / 3 - 0.25], abs=1e-6)
