"""knn / knn_graph against brute force (batches, ties, small graphs, duplicates)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evpose.graph import knn, knn_graph


def brute_knn(x, y, k, bx, by, exclude_self=False):
    d2 = ((y[:, None].double() - x[None].double()) ** 2).sum(-1)
    d2[by[:, None] != bx[None]] = float("inf")
    if exclude_self:
        d2.fill_diagonal_(float("inf"))
    out = []
    for q in range(len(y)):
        cand = torch.nonzero(torch.isfinite(d2[q])).flatten()
        # distance, then index: a stable sort of candidates listed by index
        order = cand[torch.sort(d2[q][cand], stable=True).indices][:k]
        out += [(q, int(j)) for j in order]
    return out


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("k", [1, 6, 50])
def test_equals_brute_force(dim, k):
    rng = np.random.default_rng(dim * 100 + k)
    x = torch.from_numpy(rng.uniform(0, 10, (300, dim)).astype(np.float32))
    y = torch.from_numpy(rng.uniform(-2, 12, (120, dim)).astype(np.float32))
    bx = torch.from_numpy(rng.integers(0, 3, 300))
    by = torch.from_numpy(rng.integers(0, 4, 120))  # graph 3 has no x: no neighbours
    ei = knn(x, y, k, bx, by)
    assert list(zip(ei[0].tolist(), ei[1].tolist())) == brute_knn(x, y, k, bx, by)


def test_clustered_points_with_outliers_and_integer_ties():
    rng = np.random.default_rng(1)
    dense = rng.integers(0, 6, (400, 3))
    far = rng.integers(40, 400, (10, 3))
    pos = torch.from_numpy(np.concatenate([dense, far]).astype(np.float32))
    ei = knn_graph(pos, 8)
    got = list(zip(ei[1].tolist(), ei[0].tolist()))
    b = torch.zeros(len(pos), dtype=torch.int64)
    assert got == brute_knn(pos, pos, 8, b, b, exclude_self=True)


def test_knn_graph_excludes_self_even_with_duplicates():
    pos = torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    ei = knn_graph(pos, 1)
    assert set(zip(ei[1].tolist(), ei[0].tolist())) == {(0, 1), (1, 0), (2, 0), (3, 2)}
    ei = knn_graph(pos, 1, loop=True)
    assert set(zip(ei[1].tolist(), ei[0].tolist())) == {(0, 0), (1, 0), (2, 2), (3, 3)}


def test_small_graphs_get_every_point():
    x = torch.tensor([[0.0], [1.0], [2.0]])
    ei = knn(x, torch.tensor([[0.4]]), 10)
    assert ei.tolist() == [[0, 0, 0], [0, 1, 2]]


def test_empty_inputs_and_errors():
    assert knn(torch.zeros(0, 2), torch.zeros(3, 2), 2).shape == (2, 0)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        knn_graph(torch.zeros(3, 2), 0)
    with pytest.raises(ValueError, match="same number of coordinates"):
        knn(torch.zeros(3, 2), torch.zeros(3, 3), 1)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    rng = np.random.default_rng(2)
    pos = torch.from_numpy(rng.integers(0, 30, (2000, 3)).astype(np.float32))
    batch = torch.from_numpy(np.sort(rng.integers(0, 3, 2000)))
    assert torch.equal(knn_graph(pos, 7, batch), knn_graph(pos.cuda(), 7, batch.cuda()).cpu())
