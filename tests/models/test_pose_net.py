"""The hourglass backbone and pose heads: shapes, invariance, gradients, overfitting."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from evpose.graph import build_event_graph
from evpose.models import (
    EdgeConvLayer,
    GATv2Layer,
    GraphHourglass,
    PointConvLayer,
    PointNetLayer,
    PointTransformerLayer,
    RefinementStack,
)
from evpose.models.losses import joint_loss, log_depth_loss, part_loss, part_targets, stage_sum
from tests.helpers import blob_window, pose_net, stage_outputs

K_INTR = [[350.0, 0, 173.0], [0, 350.0, 130.0], [0, 0, 1]]


def graph(n, seed, **kw):
    d = build_event_graph(blob_window(n, seed, **kw), (260, 346), r=5.0, max_num_neighbors=16, tore_k=2)
    d.cam_K = torch.tensor([K_INTR])
    d.cam_R = torch.eye(3)[None]
    d.cam_t = torch.tensor([[0.0, 0.0, 3000.0]])
    d.joints2d = torch.tensor(np.random.default_rng(seed).uniform([150, 80], [220, 200], (1, 13, 2)), dtype=torch.float32)
    d.visible = torch.ones(1, 13, dtype=torch.bool)
    return d


#: The small, plain settings these tests were written for (the shipped defaults add position and
#: camera inputs, squeezed time, a map scale, global context, max-only aggregation, a root depth
#: from features): passed explicitly, so the tests keep testing what they tested.
PLAIN_BACKBONE = dict(position_input=False, time_scales=None, map_scale=1.0, camera_input=False)
PLAIN_HOURGLASS = dict(global_context=False)
PLAIN_POSE = dict(root_from="rootnet", detach_depth_prob=False, root_box_from_labels=False, gamma_sees_k=False)
PLAIN_POINT_CONV = partial(PointConvLayer, aggr=("max", "mean"))


def make_net(conv=PointConvLayer, stages=2, channels=(16, 24, 32), in_channels=5, **kw):
    torch.manual_seed(0)
    conv = PLAIN_POINT_CONV if conv is PointConvLayer else conv
    hg = partial(GraphHourglass, channels=list(channels), conv=conv, **PLAIN_HOURGLASS)
    bb = RefinementStack(in_channels, hg, num_stages=stages, radii=(5.0, 10.0, 20.0), voxel_sizes=(5.0, 10.0),
                         max_num_neighbors=16, **PLAIN_BACKBONE)
    return pose_net(bb, **{**PLAIN_POSE, **kw})


def test_shapes_for_uneven_batch_with_empty_and_single_node_graphs():
    net = make_net().eval()
    data = [graph(300, 0), graph(0, 1), graph(57, 2), graph(1, 3)]
    b = Batch.from_data_list(data)
    with torch.no_grad():
        outs = stage_outputs(net, b)
    assert len(outs) == 2
    o = outs[-1]
    N = b.num_nodes
    assert o["joints2d"].shape == (4, 13, 2) and o["confidence"].shape == (4, 13)
    assert o["joint_prob"].shape == (N, 13) and o["part_logits"].shape == (N, 11)
    assert o["joints3d"].shape == (4, 13, 3) and o["root_depth"].shape == (4,)
    # probabilities sum to one per non-empty graph and joint
    sums = torch.zeros(4, 13).index_add_(0, b.batch, o["joint_prob"])
    torch.testing.assert_close(sums[[0, 2, 3]], torch.ones(3, 13))
    # the empty window: confidence 0; the single node: its joints sit on the node
    assert o["confidence"][1].abs().sum() == 0
    for t in o.values():
        assert torch.isfinite(t).all()


def test_node_permutation_leaves_outputs_unchanged():
    net = make_net().eval()
    d = graph(400, 5)
    perm = torch.randperm(d.num_nodes, generator=torch.Generator().manual_seed(1))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(len(perm))
    dp = d.clone()
    dp.x, dp.pos, dp.part = d.x[perm], d.pos[perm], d.part[perm]
    dp.edge_index = inv[d.edge_index]
    with torch.no_grad():
        a = stage_outputs(net, Batch.from_data_list([d]))[-1]
        b = stage_outputs(net, Batch.from_data_list([dp]))[-1]
    torch.testing.assert_close(a["joints2d"], b["joints2d"], atol=1e-3, rtol=1e-5)
    # the confidence counts the mass of the nodes within a radius: nodes lying on the circle
    # (to float rounding) may fall either side, so their mass is the tolerance
    head = net.heads["joints2d"].stages[-1]
    dist = (d.pos[:, None, :2] - a["joints2d"][0][None]).norm(dim=-1)  # offsets start at zero
    on_circle = (dist - head.confidence_radius_px).abs() < 1e-2
    tol = (a["joint_prob"] * on_circle).sum(0)
    assert ((a["confidence"][0] - b["confidence"][0]).abs() <= tol + 1e-5).all()
    # 3D goes through RootNet's k = f * sqrt(A_real / A_img): an untrained net's joints all sit
    # near one point, so the tiny box amplifies float rounding; compare relatively.
    for key in ("joints3d", "root_depth"):
        torch.testing.assert_close(a[key], b[key], atol=1e-2, rtol=1e-3)
    torch.testing.assert_close(a["part_logits"][perm], b["part_logits"], atol=1e-4, rtol=1e-5)


def test_batched_equals_single():
    """A window gives the same prediction alone and inside a batch (no leakage across graphs)."""
    net = make_net().eval()
    ds = [graph(300, 7), graph(200, 8, centre=(60, 60))]
    with torch.no_grad():
        both = stage_outputs(net, Batch.from_data_list(ds))[-1]
        one = stage_outputs(net, Batch.from_data_list([ds[1]]))[-1]
    torch.testing.assert_close(both["joints2d"][1], one["joints2d"][0], atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("conv", [PointConvLayer, PointNetLayer, EdgeConvLayer, GATv2Layer, PointTransformerLayer])
def test_gradients_reach_every_parameter(conv):
    net = make_net(conv=conv)
    b = Batch.from_data_list([graph(200, 1), graph(150, 2)])
    outs = stage_outputs(net, b)
    loss = stage_sum(
        [
            joint_loss(o["joints2d"], b.joints2d, b.visible.float())
            + joint_loss(o["rel_depth"][..., None] / 100, torch.ones(2, 13, 1))
            + log_depth_loss(o["root_depth"], torch.full((2,), 3000.0))
            + part_loss(o["part_logits"], part_targets(b.part, 10))
            for o in outs
        ]
    )
    loss.backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"no gradient for {missing}"
    dead = [n for n, p in net.named_parameters() if p.grad.abs().sum() == 0]
    assert not dead, f"zero gradient for {dead}"


def test_point_conv_equals_pyg_pointnetconv():
    """The fast layer computes exactly PyG's PointNetConv(Linear+ReLU local, Linear global)."""
    from torch_geometric.nn import PointNetConv

    torch.manual_seed(3)
    d = graph(300, 4)
    layer = PointConvLayer(5, 8, hidden=6, aggr=["max"])
    local = torch.nn.Sequential(torch.nn.Linear(5 + 3, 6), torch.nn.ReLU())
    glob = torch.nn.Linear(6, 8)
    ref = PointNetConv(local_nn=local, global_nn=glob, add_self_loops=False)  # (re-initialises its nets)
    with torch.no_grad():
        local[0].weight.copy_(torch.cat([layer.lin_x.weight, layer.lin_pos.weight], 1))
        local[0].bias.copy_(layer.lin_x.bias)
        glob.weight.copy_(layer.lin_out.weight)
        glob.bias.copy_(layer.lin_out.bias)
    with torch.no_grad():
        want = ref(d.x, d.pos, d.edge_index)
        has_edge = torch.bincount(d.edge_index[1], minlength=d.num_nodes) > 0
        want = torch.where(has_edge[:, None], want, layer.lin_out(torch.zeros(1, 6)))  # PyG: empty max -> 0
        got = layer(d.x, d.pos, d.edge_index) - layer.self_term(d.x)
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


def test_tiny_batch_is_overfit():
    """2D loss falls by >= 90% within 300 steps on CPU."""
    net = make_net(stages=2, channels=(32, 32, 48))
    b = Batch.from_data_list([graph(150, 11), graph(150, 12)])
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    first = None
    for step in range(300):
        outs = stage_outputs(net, b)
        loss = stage_sum([joint_loss(o["joints2d"], b.joints2d, b.visible.float()) for o in outs])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if first is None:
            first = loss.item()
        if loss.item() < 0.1 * first:
            break
    assert loss.item() < 0.1 * first, f"2D loss only went from {first:.2f} to {loss.item():.2f}"


def test_point_conv_mean_branch_hand_computed():
    """Node 0 with neighbours 1 and 2: the mean branch is ReLU(w1 a_1 + w2 a_2) / (w1 + w2) - W_p p_0)
    with Gaussian distance weights of bandwidth s."""
    torch.manual_seed(0)
    layer = PointConvLayer(2, 3, hidden=4, aggr=["mean"])
    x = torch.randn(3, 2)
    pos = torch.tensor([[0.0, 0.0, 0.0], [0.3, 0.0, 0.0], [0.0, 0.8, 0.0]])
    ei = torch.tensor([[1, 2], [0, 0]])
    with torch.no_grad():
        a = layer.lin_x(x) + layer.lin_pos(pos)
        s = layer.bandwidth
        assert abs(s.item() - 0.5) < 2e-3
        w1, w2 = torch.exp(-(0.3**2) / (2 * s**2)), torch.exp(-(0.8**2) / (2 * s**2))
        want0 = layer.lin_out(torch.relu((w1 * a[1] + w2 * a[2]) / (w1 + w2) - layer.lin_pos(pos[0]))) + layer.self_term(x[0])
        got = layer(x, pos, ei)
    torch.testing.assert_close(got[0], want0)
    # nodes 1 and 2 have no incoming edge: only their self term and the output bias
    torch.testing.assert_close(got[1], layer.lin_out(torch.zeros(4)) + layer.self_term(x[1]))
    with pytest.raises(ValueError, match="aggr must be a non-empty subset"):
        PointConvLayer(2, 3, aggr=["sum"])


def test_max_only_point_conv_has_no_unused_parameter():
    """With aggr=[max] (the default config) every parameter gets a gradient: none that
    DistributedDataParallel would find unused (the mean's bandwidth exists only with mean)."""
    net = make_net(conv=partial(PointConvLayer, aggr=["max"]))
    assert not any("log_bandwidth" in n for n, _ in net.named_parameters())
    assert any("log_bandwidth" in n for n, _ in make_net(conv=partial(PointConvLayer, aggr=["max", "mean"])).named_parameters())
    b = Batch.from_data_list([graph(200, 21), graph(150, 22)])
    outs = stage_outputs(net, b)
    stage_sum([joint_loss(o["joints2d"], b.joints2d, b.visible.float()) + o["part_logits"].sum() * 0 + o["joints3d"].sum()
               * 0 + o["root_depth"].sum() * 0 + o["joint_prob"].sum() for o in outs]).backward()
    unused = [n for n, p in net.named_parameters() if p.grad is None]
    assert unused == []


def test_old_state_dicts_with_the_unused_bandwidth_still_load():
    """State dicts written when max-only layers still held log_bandwidth load (strictly),
    the key dropped; a mean layer still needs its bandwidth."""
    net = make_net(conv=partial(PointConvLayer, aggr=["max"])).eval()
    state = net.state_dict()
    layers = [n for n, m in net.named_modules() if isinstance(m, PointConvLayer)]
    assert layers
    old = dict(state, **{f"{n}.log_bandwidth": torch.tensor(0.1) for n in layers})
    fresh = make_net(conv=partial(PointConvLayer, aggr=["max"]), stages=2).eval()
    torch.manual_seed(5)
    for p in fresh.parameters():
        p.data.normal_()
    fresh.load_state_dict(old, strict=True)
    b = Batch.from_data_list([graph(200, 23)])
    with torch.no_grad():
        torch.testing.assert_close(stage_outputs(fresh, b)[-1]["joints2d"], stage_outputs(net, b)[-1]["joints2d"], rtol=0, atol=0)
    mean = PointConvLayer(2, 3, aggr=["max", "mean"])
    with pytest.raises(RuntimeError, match="log_bandwidth"):
        mean.load_state_dict({k: v for k, v in mean.state_dict().items() if k != "log_bandwidth"})


def test_bad_configuration_is_rejected():
    with pytest.raises(ValueError, match="backbone makes 13 maps per node but the pose has 17 joints"):
        pose_net(make_net().backbone, num_joints=17)
    with pytest.raises(ValueError, match="channels must be positive"):
        GraphHourglass(channels=[])
    with pytest.raises(ValueError, match="node features have 3 channels, the backbone expects 5"):
        net = make_net()
        d = graph(50, 0)
        d.x = d.x[:, :3]
        stage_outputs(net, Batch.from_data_list([d]))
