"""The neighbour max of the point convolution against a plain loop, with and without autograd."""

import pytest
import torch

from evpose.models.scatter import centre_groups, neighbour_max, neighbour_table


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
    n = ptr.numel() - 1
    table = neighbour_table(src, torch.repeat_interleave(torch.arange(n), ptr[1:] - ptr[:-1]), ptr)
    assert table.shape == (n, int((ptr[1:] - ptr[:-1]).max()))
    for i in range(n):
        row = table[i].tolist()
        own = src[ptr[i] : ptr[i + 1]].tolist()
        assert row[: len(own)] == own and all(v == n for v in row[len(own) :])


@pytest.mark.parametrize("grad", [False, True])
def test_neighbour_max_equals_a_loop(grad):
    """Both paths (padded table without autograd, segment reduction with it): the loop's
    values, 0 for centres without neighbours; with autograd the gradient reaches each
    maximum's row (values distinct: no ties)."""
    src, ptr = _graph()
    n = ptr.numel() - 1
    a = torch.randn(n, 5, dtype=torch.float64, requires_grad=grad)
    dst = torch.repeat_interleave(torch.arange(n), ptr[1:] - ptr[:-1])
    shuffle = torch.randperm(src.numel(), generator=torch.Generator().manual_seed(1))  # any edge order
    out = neighbour_max(a, centre_groups(torch.stack([src, dst])[:, shuffle], n))
    weights = torch.randn(n, 5, dtype=torch.float64)
    expected = torch.zeros(n, 5, dtype=torch.float64)
    expected_grad = torch.zeros(n, 5, dtype=torch.float64)
    for i in range(n):
        nbrs = src[ptr[i] : ptr[i + 1]].tolist()
        for c in range(5):
            if nbrs:
                vals = [float(a[j, c]) for j in nbrs]
                best = max(range(len(vals)), key=lambda k: vals[k])
                expected[i, c] = vals[best]
                expected_grad[nbrs[best], c] += weights[i, c]
    assert torch.equal(out.detach(), expected)
    assert out.requires_grad == grad
    if grad:
        (out * weights).sum().backward()
        assert torch.allclose(a.grad, expected_grad, rtol=0, atol=1e-12)


def test_neighbour_max_of_a_graph_without_edges():
    out = neighbour_max(torch.randn(3, 2), centre_groups(torch.zeros(2, 0, dtype=torch.long), 3))
    assert torch.equal(out, torch.zeros(3, 2))


def test_centre_groups_are_kept_while_the_edges_are_unchanged():
    edge_index = torch.tensor([[1, 2, 0], [0, 0, 2]])
    groups = centre_groups(edge_index, 3)
    assert groups.ptr.tolist() == [0, 2, 2, 3] and groups.has.flatten().tolist() == [True, False, True]
    assert centre_groups(edge_index, 3) is groups
    assert centre_groups(edge_index, 4) is not groups  # another node count
    edge_index[0, 0] = 2  # changed in place: grouped again
    again = centre_groups(edge_index, 3)
    assert again is not groups and again.src.tolist() == [2, 2, 0]


@pytest.mark.parametrize("grouped", [True, False])
def test_centre_groups_kept_on_the_edges_do_not_keep_them_alive(grouped):
    """The groups cached on an edge index hold no view of it: a view references its base, a
    cycle through C++ that Python's garbage collector cannot see, so every training batch's
    edges (shared memory from the loader workers) stayed allocated for the whole run."""
    import gc
    import weakref

    dst = torch.tensor([0, 0, 1, 2, 2, 2]) if grouped else torch.tensor([2, 0, 2, 1, 0, 2])
    edge_index = torch.stack([torch.tensor([1, 2, 0, 0, 1, 3]), dst])
    groups = centre_groups(edge_index, 4)
    assert centre_groups(edge_index, 4) is groups  # cached
    alive = weakref.ref(edge_index)
    del edge_index, groups
    gc.collect()
    assert alive() is None
