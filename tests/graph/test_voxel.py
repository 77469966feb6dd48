"""voxel_cluster / voxel_pool / unpool / pool_edge_index against per-node loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from evpose.graph import pool_edge_index, unpool, voxel_cluster, voxel_pool


@pytest.fixture(autouse=True, params=["compiled", "vectorised"])
def cluster_path(request, monkeypatch):
    """Every test runs on both ways voxel_cluster numbers the voxels: CPU graphs up to 2^16
    nodes in one compiled pass, others (CUDA, larger) by a sort of packed cell keys."""
    import sys

    if request.param == "vectorised":
        monkeypatch.setattr(sys.modules["evpose.graph.voxel"], "SMALL_GRAPH_NODES", -1)
    return request.param


@pytest.fixture
def cloud():
    rng = np.random.default_rng(0)
    pos = torch.from_numpy(rng.uniform(0, 10, (500, 3)).astype(np.float32))
    batch = torch.from_numpy(np.sort(rng.integers(0, 3, 500)))
    x = torch.from_numpy(rng.normal(size=(500, 4)).astype(np.float32))
    return pos, batch, x


def test_cluster_is_the_voxel_per_graph(cloud):
    pos, batch, _ = cloud
    size = (2.0, 2.5, 1.5)
    cluster = voxel_cluster(pos, size, batch)
    lo = pos.min(0).values.tolist()
    voxel = [
        (int(batch[i]), *(math.floor((float(pos[i, d]) - lo[d]) / size[d]) for d in range(3))) for i in range(len(pos))
    ]
    ids = {}
    for i, v in enumerate(voxel):  # same voxel <=> same id
        assert ids.setdefault(v, int(cluster[i])) == int(cluster[i])
    assert len(set(ids.values())) == len(ids)
    assert sorted(set(cluster.tolist())) == list(range(len(ids)))  # consecutive
    # clusters are numbered graph by graph
    _, _, pooled_batch = voxel_pool(cluster, None, pos, batch)
    assert torch.equal(pooled_batch, torch.sort(pooled_batch).values)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_compiled_ids_equal_the_vectorised_ones(monkeypatch, dtype, dim):
    import sys

    voxel = sys.modules["evpose.graph.voxel"]
    rng = np.random.default_rng(dim)
    # on a quarter grid: many points on voxel boundaries and in shared voxels
    pos = torch.from_numpy(rng.integers(0, 40, (700, dim)) / 4).to(dtype)
    batch = torch.from_numpy(np.sort(rng.integers(0, 4, 700)))
    for size, start in ((0.5, None), ([0.75, 1.25, 0.3][:dim], -0.25), (3.0, 0.0)):
        monkeypatch.setattr(voxel, "SMALL_GRAPH_NODES", 1 << 16)
        ids = voxel_cluster(pos, size, batch, start=start)
        monkeypatch.setattr(voxel, "SMALL_GRAPH_NODES", -1)
        assert torch.equal(ids, voxel_cluster(pos, size, batch, start=start))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_pooled_positions_equal_torch_scatters(monkeypatch, dtype):
    import sys

    voxel = sys.modules["evpose.graph.voxel"]
    rng = np.random.default_rng(5)
    pos = torch.from_numpy(rng.uniform(0, 300, (2000, 3))).to(dtype)  # sums that round
    batch = torch.from_numpy(np.sort(rng.integers(0, 3, 2000)))
    cluster = voxel_cluster(pos, [100.0, 100.0, 80.0], batch)
    for num in (None, int(cluster.max()) + 4):  # 3 empty clusters at the end
        monkeypatch.setattr(voxel, "SMALL_GRAPH_NODES", 1 << 16)
        _, p1, b1 = voxel_pool(cluster, None, pos, batch, num)
        monkeypatch.setattr(voxel, "SMALL_GRAPH_NODES", -1)
        _, p2, b2 = voxel_pool(cluster, None, pos, batch, num)
        assert torch.equal(p1, p2) and torch.equal(b1, b2) and p1.dtype == dtype
    assert int((torch.bincount(cluster) > 10).sum()) > 5


def test_pool_max_mean_and_unpool_round_trip(cloud):
    pos, batch, x = cloud
    cluster = voxel_cluster(pos, 2.0, batch)
    xp, pp, bp = voxel_pool(cluster, x, pos, batch)
    c = int(cluster.max()) + 1
    assert xp.shape == (c, 4) and pp.shape == (c, 3) and bp.shape == (c,)
    cl, xn, pn, bn = cluster.numpy(), x.numpy(), pos.numpy(), batch.numpy()
    for k in range(c):
        members = cl == k
        np.testing.assert_array_equal(xp[k].numpy(), xn[members].max(0))
        np.testing.assert_allclose(pp[k].numpy(), pn[members].mean(0), atol=1e-5)
        assert int(bp[k]) == bn[members][0]
    back = unpool(xp, cluster)
    assert back.shape == x.shape  # node count restored
    assert torch.equal(back, xp[cluster])  # every node gets its cluster's value
    assert torch.equal(voxel_cluster(pos, 2.0, batch), cluster)  # assignment is reproducible
    assert (back >= x).all()


def test_pool_edges():
    cluster = torch.tensor([0, 0, 1, 2])
    ei = torch.tensor([[0, 1, 2, 3, 2, 1], [1, 2, 3, 2, 1, 3]])
    # node edges 0-1 (inside cluster 0) vanish; 1->2, 2->3, 3->2, 2->1, 1->3 map to
    # 0->1, 1->2, 2->1, 1->0, 0->2; sorted by target, then source
    assert pool_edge_index(cluster, ei).tolist() == [[1, 0, 2, 0, 1], [0, 1, 1, 2, 2]]


def test_start_and_errors():
    pos = torch.tensor([[0.5, 0.5], [1.5, 0.5], [2.5, 0.5]])
    assert voxel_cluster(pos, 1.0, start=0.0).tolist() == [0, 1, 2]
    assert voxel_cluster(pos, 2.0, start=-0.5).tolist() == [0, 1, 1]  # [-0.5, 1.5), [1.5, 3.5)
    with pytest.raises(ValueError, match="voxel size must be positive"):
        voxel_cluster(pos, 0.0)
    with pytest.raises(ValueError, match="before the grid start"):
        voxel_cluster(pos, 1.0, start=1.0)
    assert voxel_cluster(torch.zeros(0, 3), 1.0).shape == (0,)
    with pytest.raises(ValueError, match="different graphs"):
        voxel_pool(torch.tensor([0, 0]), None, torch.zeros(2, 2), torch.tensor([0, 1]))
