"""Voxel-grid clustering of nodes, pooling into clusters and unpooling back.

``voxel_cluster`` gives every node the id of the voxel (of its graph) it falls in,
numbered consecutively; ``voxel_pool`` reduces the nodes of each voxel to one (max of
features, mean of positions, the graph id carried along); ``unpool`` copies pooled
values back to the nodes. A pool/unpool pair is the skip path of an hourglass.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor
from torch_scatter import scatter

from ..representations.events import on_numpy
from .hashing import CellGrid, as_batch, cell_coords, check_points
from .ops import cumsum, take
from .radius import SMALL_GRAPH_NODES
from .voxel_kernel import pool_positions, voxel_ids


def _per_dim(value, dim: int, name: str, device) -> Tensor:
    v = torch.as_tensor(value, dtype=torch.float64, device=device).reshape(-1)
    if v.numel() == 1:
        v = v.expand(dim)
    if v.numel() != dim:
        raise ValueError(f"{name} needs 1 or {dim} values, got {v.numel()}")
    return v


def voxel_cluster(
    pos: Tensor,
    size: float | Sequence[float] | Tensor,
    batch: Tensor | None = None,
    start: float | Sequence[float] | Tensor | None = None,
) -> Tensor:
    """Consecutive voxel id of every node: nodes share an id iff they lie in the same
    voxel of the same graph.

    Ids are numbered in (graph, voxel) order, so the pooled nodes of graph 0 come first,
    then graph 1, ... (a sorted batch vector, as PyG expects). CPU graphs of up to
    :data:`~evpose.graph.radius.SMALL_GRAPH_NODES` float points take a compiled pass
    (:func:`~evpose.graph.voxel_kernel.voxel_ids`) with the same ids.

    Args:
        pos: node positions.
        size: voxel edge, one value or one per axis (> 0).
        batch: graph id of every node (default: one graph).
        start: grid origin, one value or one per axis (default: the smallest
            coordinates); voxels are ``[start + i * size, start + (i + 1) * size)``.

    Returns:
        ``cluster`` (N,) int64 in ``[0, C)``, every id used.

    Shapes:
        pos: (N, D), batch: (N,) -> (N,)
    """
    pos = check_points(pos, "pos")
    n, dim = pos.shape
    device = pos.device
    size_t = _per_dim(size, dim, "size", device)
    if not bool((size_t > 0).all()) or not bool(torch.isfinite(size_t).all()):
        raise ValueError(f"voxel size must be positive and finite, got {size}")
    b = as_batch(batch, n, device)
    if n == 0:
        return torch.zeros(0, dtype=torch.int64, device=device)
    lo = pos.min(0).values.to(torch.float64) if start is None else _per_dim(start, dim, "start", device)
    if on_numpy(pos) and n <= SMALL_GRAPH_NODES and pos.dtype in (torch.float32, torch.float64):
        ids, status = voxel_ids(pos.detach().numpy(), lo.numpy(), size_t.numpy(), b.numpy())
        if status == 0:
            return torch.from_numpy(ids)
        # else the vectorised path below says what is wrong
    coords = cell_coords(pos, lo, size_t)
    if bool((coords < 0).any()):
        i = int(torch.nonzero((coords < 0).any(1))[0])
        raise ValueError(f"pos[{i}] = {pos[i].tolist()} lies before the grid start {lo.tolist()}")
    dims = (coords.max(0).values + 1).tolist()
    grid = CellGrid(coords, b, dims)
    new = torch.ones(n, dtype=torch.bool, device=device)
    new[1:] = grid.sorted_keys[1:] != grid.sorted_keys[:-1]
    cluster = torch.empty(n, dtype=torch.int64, device=device)
    cluster[grid.perm] = cumsum(new.to(torch.int64)) - 1
    return cluster


def voxel_pool(
    cluster: Tensor,
    x: Tensor | None,
    pos: Tensor,
    batch: Tensor | None = None,
    num_clusters: int | None = None,
) -> tuple[Tensor | None, Tensor, Tensor]:
    """Pool nodes into their clusters: features by max, positions by mean.

    Args:
        cluster: cluster id of every node (e.g. from :func:`voxel_cluster`).
        x: node features, or None.
        pos: node positions.
        batch: graph id of every node (default: one graph); a cluster takes the graph
            of its nodes (clusters must not span graphs).
        num_clusters: C (default ``cluster.max() + 1``).

    Returns:
        ``(x_pooled, pos_pooled, batch_pooled)``; x_pooled is None when x is None (small
        CPU graphs without features, the pyramid's case, take a compiled pass:
        :func:`~evpose.graph.voxel_kernel.pool_positions`, the same values).

    Shapes:
        cluster: (N,), x: (N, F), pos: (N, D), batch: (N,) -> (C, F), (C, D), (C,)
    """
    n = cluster.numel()
    if pos.shape[0] != n or (x is not None and x.shape[0] != n):
        raise ValueError(
            f"cluster has {n} entries but pos has {pos.shape[0]} rows"
            + ("" if x is None else f" and x has {x.shape[0]}")
        )
    c = int(cluster.max()) + 1 if num_clusters is None and n else int(num_clusters or 0)
    b = as_batch(batch, n, pos.device)
    if (x is None and on_numpy(pos) and 0 < n <= SMALL_GRAPH_NODES and pos.dtype in (torch.float32, torch.float64)
            and not pos.requires_grad and cluster.dtype == torch.int64 and pos.dim() == 2):
        pos_pooled, batch_pooled, ok = pool_positions(cluster.numpy(), pos.numpy(), b.numpy(), c)
        if ok:
            return None, torch.from_numpy(pos_pooled), torch.from_numpy(batch_pooled)
        # else the vectorised path below says what is wrong
    x_pooled = None if x is None else scatter(x, cluster, dim=0, dim_size=c, reduce="max")
    pos_pooled = scatter(pos, cluster, dim=0, dim_size=c, reduce="mean")
    batch_pooled = scatter(b, cluster, dim=0, dim_size=c, reduce="max")
    if n and not torch.equal(take(batch_pooled, cluster), b):
        raise ValueError("a cluster holds nodes of different graphs; cluster per graph (pass batch)")
    return x_pooled, pos_pooled, batch_pooled


def unpool(x_pooled: Tensor, cluster: Tensor) -> Tensor:
    """Copy every cluster's value back to its nodes.

    Shapes:
        x_pooled: (C, F), cluster: (N,) -> (N, F)
    """
    return take(x_pooled, cluster)


def pool_edge_index(cluster: Tensor, edge_index: Tensor, num_clusters: int | None = None) -> Tensor:
    """Edges between clusters: every edge mapped to its clusters, self-loops and
    duplicates removed, sorted by target then source.

    Shapes:
        cluster: (N,), edge_index: (2, E) -> (2, E')
    """
    c = int(cluster.max()) + 1 if num_clusters is None and cluster.numel() else int(num_clusters or 0)
    e = take(cluster, edge_index.reshape(-1)).view(2, -1)
    e = e[:, e[0] != e[1]]
    if e.shape[1] == 0:
        return e
    key = torch.unique(e[1] * max(c, 1) + e[0])
    return torch.stack([key % max(c, 1), torch.div(key, max(c, 1), rounding_mode="floor")])
