"""The neighbour max of the point convolution against a plain loop, forward and backward."""

import torch

from evpose.models.scatter import neighbour_max, neighbour_table


def _graph(n=40, seed=0, isolated=(3, 17)):
    g = torch.Generator().manual_seed(seed)
    counts = torch.randint(0, 7, (n,), generator=g)
    counts[list(isolated)] = 0
    src = torch.cat([torch.randperm(n, generator=g)[: int(c)] for c in counts])
    ptr = torch.zeros(n + 1, dtype=torch.long)
    ptr[1:] = torch.cumsum(counts, 0)
    return src, ptr


def test_neighbour_table_lists_every_centres_neighbours_in_order():
    src, ptr = _graph()
    table = neighbour_table(src, ptr)
    n = ptr.numel() - 1
    assert table.shape == (n, int((ptr[1:] - ptr[:-1]).max()))
    for i in range(n):
        row = table[i].tolist()
        own = src[ptr[i] : ptr[i + 1]].tolist()
        assert row[: len(own)] == own and all(v == n for v in row[len(own) :])


def test_neighbour_max_equals_a_loop_forward_and_backward():
    src, ptr = _graph()
    n = ptr.numel() - 1
    a = torch.randn(n, 5, dtype=torch.float64, requires_grad=True)
    out = neighbour_max(a, neighbour_table(src, ptr))
    weights = torch.randn(n, 5, dtype=torch.float64)
    expected = torch.full((n, 5), float("-inf"), dtype=torch.float64)
    grad = torch.zeros(n, 5, dtype=torch.float64)
    for i in range(n):
        nbrs = src[ptr[i] : ptr[i + 1]].tolist()
        for c in range(5):
            if nbrs:
                vals = [float(a[j, c]) for j in nbrs]
                best = max(range(len(vals)), key=lambda k: vals[k])
                expected[i, c] = vals[best]
                grad[nbrs[best], c] += weights[i, c]
    assert torch.equal(out.detach(), expected)
    out.masked_fill(torch.isinf(out), 0.0).mul(weights).sum().backward()
    assert torch.allclose(a.grad, grad, rtol=0, atol=1e-12)


def test_neighbour_max_of_a_graph_without_edges():
    table = neighbour_table(torch.zeros(0, dtype=torch.long), torch.zeros(4, dtype=torch.long))
    out = neighbour_max(torch.randn(3, 2), table)
    assert out.shape == (3, 2) and torch.isneginf(out).all()
