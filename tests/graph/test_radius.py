"""radius_graph / radius against brute force; the cap keeps the nearest; batches stay apart."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evpose.graph import radius, radius_graph, radius_pairs


@pytest.fixture(autouse=True, params=["compiled", "packed keys"])
def edge_order(request, monkeypatch):
    """Every test runs on both ways radius_graph finds, orders and caps the edges: CPU graphs
    up to 2^16 nodes in one compiled pass, others (CUDA, larger) by pairs and packed-key sorts."""
    import sys

    if request.param == "packed keys":
        monkeypatch.setattr(sys.modules["evpose.graph.radius"], "SMALL_GRAPH_NODES", -1)
    return request.param


def brute_pairs(pos, r, batch=None):
    """Set of directed (centre, neighbour) pairs within r (same graph, no self)."""
    d2 = ((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1)
    ok = (d2 <= torch.tensor(r, dtype=pos.dtype) ** 2) & ~torch.eye(len(pos), dtype=torch.bool)
    if batch is not None:
        ok &= batch[:, None] == batch[None, :]
    return {(int(i), int(j)) for i, j in torch.nonzero(ok)}


def edges(ei):
    """(centre, neighbour) set of a source_to_target edge_index."""
    return set(zip(ei[1].tolist(), ei[0].tolist()))


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_equals_brute_force_below_cap(dim):
    rng = np.random.default_rng(dim)
    pos = torch.from_numpy(rng.uniform(0, 6 ** (3 / dim), (400, dim)).astype(np.float32))
    ei = radius_graph(pos, 1.0, max_num_neighbors=None)
    assert edges(ei) == brute_pairs(pos, 1.0)
    assert ei.dtype == torch.int64 and ei.shape[0] == 2
    # coalesced: sorted by centre then neighbour, no duplicates
    key = ei[1] * 400 + ei[0]
    assert torch.equal(key, torch.unique(key))


def test_integer_coordinates_with_ties_and_exact_radius():
    # event-like positions: integer pixels, repeated positions, neighbours at exactly r
    rng = np.random.default_rng(3)
    pos = torch.from_numpy(rng.integers(0, 8, (300, 3)).astype(np.float32))
    ei = radius_graph(pos, 2.0, max_num_neighbors=None)
    assert edges(ei) == brute_pairs(pos, 2.0)
    assert any(float(((pos[i] - pos[j]) ** 2).sum()) == 4.0 for i, j in edges(ei))


def test_cap_keeps_exactly_the_nearest():
    rng = np.random.default_rng(4)
    pos = torch.from_numpy(rng.uniform(0, 4, (500, 3)).astype(np.float32))
    cap = 5
    ei = radius_graph(pos, 1.2, max_num_neighbors=cap)
    got = {}
    for c, nb in edges(ei):
        got.setdefault(c, set()).add(nb)
    by_centre = {}
    for c, nb in brute_pairs(pos, 1.2):
        by_centre.setdefault(c, []).append(nb)
    capped = 0
    for c in range(len(pos)):
        cand = sorted((float(((pos[c] - pos[nb]) ** 2).sum()), nb) for nb in by_centre.get(c, []))
        capped += len(cand) > cap
        want = {nb for _, nb in cand[:cap]}  # nearest first, ties by index
        assert got.get(c, set()) == want, c
    assert capped > 50  # the cap did bite


def test_cap_ties_go_to_the_smaller_index():
    pos = torch.tensor([[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    ei = radius_graph(pos, 1.0, max_num_neighbors=2)
    assert sorted(nb for c, nb in edges(ei) if c == 0) == [1, 2]


def test_batches_never_connect():
    rng = np.random.default_rng(5)
    pos = torch.from_numpy(rng.uniform(0, 3, (300, 3)).astype(np.float32))
    batch = torch.from_numpy(rng.integers(0, 3, 300))  # unsorted, overlapping clouds
    ei = radius_graph(pos, 0.8, batch=batch, max_num_neighbors=None)
    assert (batch[ei[0]] == batch[ei[1]]).all()
    assert edges(ei) == brute_pairs(pos, 0.8, batch)


def test_loop_and_flow():
    pos = torch.tensor([[0.0], [0.5], [3.0]])
    ei = radius_graph(pos, 1.0, loop=True)
    assert edges(ei) == {(0, 0), (0, 1), (1, 0), (1, 1), (2, 2)}
    flipped = radius_graph(pos, 1.0, flow="target_to_source")
    assert torch.equal(flipped, radius_graph(pos, 1.0).flip(0))


def test_radius_pairs_once_each():
    rng = np.random.default_rng(6)
    pos = torch.from_numpy(rng.uniform(0, 5, (300, 3)).astype(np.float32))
    i, j, d2 = radius_pairs(pos, 1.0)
    pairs = {(min(a, b), max(a, b)) for a, b in zip(i.tolist(), j.tolist())}
    assert len(pairs) == len(i)
    assert pairs == {(a, b) for a, b in brute_pairs(pos, 1.0) if a < b}
    assert torch.allclose(d2, ((pos[i] - pos[j]) ** 2).sum(1))


def test_bipartite_radius_matches_brute_force():
    rng = np.random.default_rng(7)
    x = torch.from_numpy(rng.uniform(0, 5, (300, 3)).astype(np.float32))
    y = torch.from_numpy(rng.uniform(-1, 6, (100, 3)).astype(np.float32))
    bx, by = torch.from_numpy(rng.integers(0, 2, 300)), torch.from_numpy(rng.integers(0, 2, 100))
    ei = radius(x, y, 1.0, bx, by, max_num_neighbors=None)
    d2 = ((y[:, None] - x[None]) ** 2).sum(-1)
    want = {(int(a), int(b)) for a, b in torch.nonzero((d2 <= 1.0) & (by[:, None] == bx[None]))}
    assert set(zip(ei[0].tolist(), ei[1].tolist())) == want
    capped = radius(x, y, 1.0, bx, by, max_num_neighbors=3)
    assert torch.bincount(capped[0], minlength=100).max() <= 3


def test_empty_and_single_point():
    assert radius_graph(torch.zeros(0, 3), 1.0).shape == (2, 0)
    assert radius_graph(torch.zeros(1, 3), 1.0).shape == (2, 0)
    assert radius_graph(torch.zeros(1, 3), 1.0, loop=True).tolist() == [[0], [0]]


@pytest.mark.parametrize("r", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_radius(r):
    with pytest.raises(ValueError, match="radius r must be a positive finite number"):
        radius_graph(torch.zeros(3, 3), r)


def test_bad_points_and_cap():
    with pytest.raises(ValueError, match=r"pos\[1, 2\] is not finite"):
        radius_graph(torch.tensor([[0.0, 0, 0], [0, 0, float("nan")]]), 1.0)
    with pytest.raises(ValueError, match="max_num_neighbors must be positive"):
        radius_graph(torch.zeros(3, 3), 1.0, max_num_neighbors=0)
    with pytest.raises(ValueError, match="batch must have shape"):
        radius_graph(torch.zeros(3, 3), 1.0, batch=torch.zeros(2, dtype=torch.int64))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    rng = np.random.default_rng(8)
    pos = torch.from_numpy(rng.integers(0, 20, (3000, 3)).astype(np.float32))
    batch = torch.from_numpy(np.sort(rng.integers(0, 4, 3000)))
    cpu = radius_graph(pos, 2.0, batch, max_num_neighbors=6)
    gpu = radius_graph(pos.cuda(), 2.0, batch.cuda(), max_num_neighbors=6)
    assert torch.equal(cpu, gpu.cpu())


def _pair_dict(i, j, d2):
    lo, hi = torch.minimum(i, j), torch.maximum(i, j)
    return {(int(a), int(b)): float(d) for a, b, d in zip(lo, hi, d2)}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("batched", [False, True])
def test_kdtree_pairs_equal_the_grid_pairs_exactly(dtype, batched):
    """The CPU's k-d tree candidates and the grid give the same pairs and the same squared
    distances, bit for bit, also for pairs at (or a rounding error from) exactly r."""
    from evpose.graph.radius import grid_radius_pairs, kdtree_pairs

    rng = np.random.default_rng(7 + batched)
    n = 1500
    pix = rng.integers(0, 40, (n, 2)).astype(np.float64)
    t = rng.uniform(0, 30, n)
    pos = torch.from_numpy(np.concatenate([pix, t[:, None]], 1)).to(dtype)
    pos[:200, 2] = pos[:200, 2].round()  # integer grids: many pairs at exactly r = 3, 5
    near = pos[200:300].clone()
    near[:, 0] += 3.0 * (1 + torch.tensor(rng.uniform(-1e-7, 1e-7, 100), dtype=dtype))  # a rounding error off r
    pos = torch.cat([pos, near])
    batch = torch.from_numpy(rng.integers(0, 3, len(pos))).sort().values if batched else None
    for r in (3.0, 5.0, 0.7):
        a, b = _pair_dict(*kdtree_pairs(pos, r, batch)), _pair_dict(*grid_radius_pairs(pos, r, batch))
        assert a == b and len(a) > (100 if r > 1 else 3)
        for p, q in (a.keys() if batched else []):
            assert batch[p] == batch[q]


def test_radius_graph_on_event_like_graphs_equals_the_vectorised_paths(monkeypatch):
    """radius_graph's compiled pass (CPU default) equals the vectorised path, with the k-d
    tree's pairs and with the grid's (CUDA's), capped."""
    import sys

    radius_module = sys.modules["evpose.graph.radius"]
    rng = np.random.default_rng(11)
    for n, r in ((1024, 8.0), (371, 16.0), (153, 32.0)):
        pos = torch.from_numpy(np.stack([rng.normal(170, 30, n).round(), rng.normal(130, 40, n).round(),
                                         rng.uniform(0, 40, n)], 1).astype(np.float32))
        batch = torch.from_numpy(np.repeat([0, 1], [n // 3, n - n // 3]))
        monkeypatch.setattr(radius_module, "SMALL_GRAPH_NODES", 1 << 16)
        fast = radius_graph(pos, r, batch=batch, max_num_neighbors=16)
        monkeypatch.setattr(radius_module, "SMALL_GRAPH_NODES", -1)
        assert torch.equal(fast, radius_graph(pos, r, batch=batch, max_num_neighbors=16))  # k-d tree pairs
        monkeypatch.setattr(radius_module, "radius_pairs", radius_module.grid_radius_pairs)
        ref = radius_graph(pos, r, batch=batch, max_num_neighbors=16)
        monkeypatch.undo()
        assert torch.equal(fast, ref) and fast.shape[1] > n


@pytest.mark.parametrize("loop", [False, True])
@pytest.mark.parametrize("dtype, dim", [(torch.float32, 3), (torch.float64, 3), (torch.float32, 2)])
def test_both_edge_orders_give_the_same_graph(monkeypatch, loop, dtype, dim):
    """The compiled pass equals the packed-key path exactly, ties (equal distances, equal
    points), loops and the cap included."""
    import sys

    radius_module = sys.modules["evpose.graph.radius"]
    rng = np.random.default_rng(12)
    pos = torch.from_numpy(rng.integers(0, 6, (600, dim))).to(dtype)  # many equal distances
    batch = torch.from_numpy(rng.integers(0, 2, 600))
    for cap in (None, 1, 7, 40):
        monkeypatch.setattr(radius_module, "SMALL_GRAPH_NODES", 1 << 16)
        compiled = radius_graph(pos, 2.0, batch=batch, max_num_neighbors=cap, loop=loop)
        monkeypatch.setattr(radius_module, "SMALL_GRAPH_NODES", -1)
        packed = radius_graph(pos, 2.0, batch=batch, max_num_neighbors=cap, loop=loop)
        assert torch.equal(compiled, packed), cap


def test_points_spread_over_too_many_cells_take_the_vectorised_path():
    """Cell keys that would overflow 63 bits: the compiled pass declines, the vectorised
    path answers, and the edges are still brute force's."""
    from evpose.graph.radius_kernel import radius_edges

    pos = torch.tensor([[0.0, 0.0, 0.0], [1e7, 1e7, 1e7], [1e7 + 1e-4, 1e7, 1e7], [1e7, 1e7 + 5e-4, 1e7]],
                       dtype=torch.float64)
    assert radius_edges(pos.numpy(), np.zeros(4, np.int64), 1e-3, 1e-6, -1, False)[2] is False
    assert edges(radius_graph(pos, 1e-3)) == brute_pairs(pos, 1e-3) == {(1, 2), (2, 1), (1, 3), (3, 1), (2, 3), (3, 2)}
