"""What a node can see: global context, window-relative positions, time-compressed pyramid
levels; and the 2D/3D head options that let the pose network learn (logit scale, depth
weights, RootNet box)."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from torch_geometric.data import Batch

from evpose.geometry import box_area, k_factor
from evpose.models import GraphHourglass, RefinementStack, build_pyramid
from evpose.models.refine import window_relative_positions
from tests.helpers import pose_net, stage_outputs
from tests.models.test_pose_net import PLAIN_POINT_CONV, PLAIN_POSE, graph


def make_net(global_context=False, position_input=False, time_scales=None, map_scale=1.0, **kw):
    torch.manual_seed(0)
    hg = partial(GraphHourglass, channels=[16, 24, 32], conv=PLAIN_POINT_CONV, global_context=global_context)
    bb = RefinementStack(5, hg, num_stages=2, radii=(5.0, 10.0, 20.0), voxel_sizes=(5.0, 10.0), max_num_neighbors=16,
                         position_input=position_input, time_scales=time_scales, map_scale=map_scale, camera_input=False)
    return pose_net(bb, **{**PLAIN_POSE, **kw})


def reach(net, d):
    """Which input nodes the first node's final features depend on (non-zero gradient)."""
    b = Batch.from_data_list([d, graph(120, 99)])
    x = b.x.clone().requires_grad_(True)
    feats = net.backbone(x, b.pos, b.batch, b.edge_index, 2)
    (g,) = torch.autograd.grad(feats.features[-1][0].sum(), x)
    return g.abs().sum(1) > 0, b.batch


def test_global_context_reaches_the_whole_window_and_no_other():
    d = graph(300, 0)
    local, batch = reach(make_net().eval(), d)
    full, _ = reach(make_net(global_context=True).eval(), d)
    first = batch == 0
    assert local[first].float().mean() < 1.0  # without context, a node sees its neighbourhood
    assert full[first].all()  # with it, every node of its window
    assert not full[~first].any() and not local[~first].any()  # and never another window


def test_window_relative_positions_hand_computed():
    pos = torch.tensor([[0.0, 0.0, 0.0], [6.0, 8.0, 4.0], [100.0, 100.0, 7.0]])
    batch = torch.tensor([0, 0, 1])
    rel = window_relative_positions(pos, batch, 2)
    # graph 0: mean (3, 4, 2); offsets (-3, -4, -2), (3, 4, 2); RMS image distance 5
    torch.testing.assert_close(rel[:2], torch.tensor([[-0.6, -0.8, -0.4], [0.6, 0.8, 0.4]]))
    torch.testing.assert_close(rel[2], torch.zeros(3))  # a single node sits at its mean (spread clamped to 1)
    assert window_relative_positions(pos[:0], batch[:0], 0).shape == (0, 3)


def test_position_input_is_translation_invariant():
    net = make_net(position_input=True).eval()
    d = graph(200, 3)
    moved = d.clone()
    moved.pos = d.pos + torch.tensor([40.0, -30.0, 0.0])
    with torch.no_grad():
        a = net.backbone(d.x, d.pos, torch.zeros(d.num_nodes, dtype=torch.long), d.edge_index, 1)
        b = net.backbone(moved.x, moved.pos, torch.zeros(d.num_nodes, dtype=torch.long), d.edge_index, 1)
    torch.testing.assert_close(a.features[-1], b.features[-1], atol=1e-4, rtol=1e-4)


def test_pyramid_time_scales():
    # four nodes at two pixels, each seen early (t=0) and late (t=40)
    pos = torch.tensor([[10.0, 10.0, 0.0], [10.0, 10.0, 40.0], [30.0, 10.0, 0.0], [30.0, 10.0, 40.0]])
    batch = torch.zeros(4, dtype=torch.long)
    same = build_pyramid(pos, batch, None, [5.0, 30.0], [8.0])
    assert same[1].num_nodes == 4  # 40 px apart in time: separate voxels
    ones = build_pyramid(pos, batch, None, [5.0, 30.0], [8.0], time_scales=[1.0])
    torch.testing.assert_close(ones[1].pos, same[1].pos)
    flat = build_pyramid(pos, batch, None, [5.0, 30.0], [8.0], time_scales=[0.0])
    assert flat[1].num_nodes == 2 and flat[1].cluster.tolist() == [0, 0, 1, 1]
    torch.testing.assert_close(flat[1].pos, torch.tensor([[10.0, 10.0, 0.0], [30.0, 10.0, 0.0]]))
    assert flat[1].edge_index.shape[1] == 2  # 20 px apart: linked within 30
    quarter = build_pyramid(pos, batch, None, [5.0, 30.0], [8.0], time_scales=[0.25])
    # time voxels of 8 / 0.25 = 32 "px": t=0 and t=40 still apart, positions carry t / 4
    assert quarter[1].num_nodes == 4
    torch.testing.assert_close(quarter[1].pos[:, 2].sort().values, torch.tensor([0.0, 0.0, 10.0, 10.0]))
    with pytest.raises(ValueError, match="time scales"):
        build_pyramid(pos, batch, None, [5.0, 30.0], [8.0], time_scales=[-1.0])


def test_map_scale_starts_from_the_same_maps_and_scales_their_learning():
    d = graph(200, 4)
    b = Batch.from_data_list([d])
    plain, scaled = make_net(), make_net(map_scale=10.0)
    with torch.no_grad():  # the same initial maps, so the same first stage's prediction
        torch.testing.assert_close(stage_outputs(scaled.eval(), b)[0]["joints2d"], stage_outputs(plain.eval(), b)[0]["joints2d"],
                                   atol=1e-4, rtol=0)
    # one SGD step on the maps' layer moves the scaled maps map_scale^2 as far: the gradient on
    # its weights is map_scale times larger and the maps are map_scale times the linear map
    moves = []
    for net in (plain, scaled):
        net.train()
        lin = net.backbone.to_maps[0]
        before = net.encode(b).maps[0].detach()
        net.encode(b).maps[0].sum().backward()
        with torch.no_grad():
            lin.weight -= 1e-3 * lin.weight.grad
            lin.bias -= 1e-3 * lin.bias.grad
            moves.append((net.encode(b).maps[0] - before).abs().mean().item())
    assert moves[1] == pytest.approx(100.0 * moves[0], rel=1e-3)
    with pytest.raises(ValueError, match="map_scale must be positive"):
        make_net(map_scale=0.0)


def test_depth_loss_does_not_move_the_2d_joints_when_detached():
    b = Batch.from_data_list([graph(200, 5)])
    for detach, moves in ((False, True), (True, False)):
        net = make_net(detach_depth_prob=detach)
        feats = net.encode(b)
        maps = feats.maps[-1].detach().requires_grad_(True)
        out = net.heads["joints2d"].stages[-1](feats.features[-1], maps, feats.pos, feats.batch, 1)
        out3 = net.heads["joints3d"].stages[-1](feats.features[-1], out["joint_prob"], out["joints2d"], feats.batch, 1,
                                b.cam_K, b.cam_R, b.cam_t)
        (g,) = torch.autograd.grad(out3["rel_depth"].abs().sum(), maps, allow_unused=True)
        assert (g is not None and bool(g.abs().sum() > 0)) == moves


def test_root_depth_uses_the_labelled_box_in_training_only():
    d = graph(200, 6)
    b = Batch.from_data_list([d])
    net = make_net(root_box_from_labels=True)
    k_labels = k_factor(350.0, 350.0, box_area(d.joints2d, min_side=16.0))
    net.train()
    out = stage_outputs(net, b)[-1]
    torch.testing.assert_close(out["k"], k_labels, rtol=1e-5, atol=0)
    net.eval()
    with torch.no_grad():
        out = stage_outputs(net, b)[-1]
    k_pred = k_factor(350.0, 350.0, box_area(out["joints2d"], min_side=16.0))
    torch.testing.assert_close(out["k"], k_pred, rtol=1e-5, atol=0)


def test_camera_input_gives_each_window_its_own_view():
    torch.manual_seed(0)
    hg = partial(GraphHourglass, channels=[16, 24, 32], conv=PLAIN_POINT_CONV, global_context=False)
    bb = RefinementStack(5, hg, num_stages=1, radii=(5.0, 10.0, 20.0), voxel_sizes=(5.0, 10.0), camera_input=True,
                         max_num_neighbors=32, position_input=False, time_scales=None, map_scale=1.0)
    net = pose_net(bb, **PLAIN_POSE).eval()
    d = graph(200, 7)
    turned = d.clone()
    turned.cam_R = torch.tensor([[[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]])  # another viewing direction
    with torch.no_grad():
        a, b = stage_outputs(net, Batch.from_data_list([d]))[-1], stage_outputs(net, Batch.from_data_list([turned]))[-1]
        both = stage_outputs(net, Batch.from_data_list([d, turned]))[-1]
    assert not torch.allclose(a["joint_prob"], b["joint_prob"])  # the view changes the prediction
    torch.testing.assert_close(both["joints2d"], torch.cat([a["joints2d"], b["joints2d"]]), atol=1e-4, rtol=1e-5)
    with pytest.raises(ValueError, match="camera rotation of every window"):
        bb(d.x, d.pos, torch.zeros(d.num_nodes, dtype=torch.long), d.edge_index, 1)
