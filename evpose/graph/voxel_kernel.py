"""Compiled voxel clustering and position pooling (numba) for the small CPU graphs of
inference and training.

:func:`voxel_ids` gives the same ids as :func:`~evpose.graph.voxel.voxel_cluster`'s
vectorised path, from one pass: cell coordinates ``floor((pos - start) / size)`` in float64
(the same operations, so the same cells), keys ``graph, then axis D-1, ..., axis 0`` as
:class:`~evpose.graph.hashing.CellGrid` packs them, and ids numbered in key order.
:func:`pool_positions` gives :func:`~evpose.graph.voxel.voxel_pool`'s mean positions and
graphs, summed as ``torch_scatter`` sums them. On the pyramid's 1024-node graphs the two
replace some thirty small torch operations.

The first call compiles (about a second, cached on disk after that).
"""

from __future__ import annotations

import numba
import numpy as np

#: Outcomes of :func:`voxel_ids` besides success.
OUTSIDE, OVERFLOW = 1, 2


@numba.njit(cache=True, nogil=True)
def voxel_ids(pos, start, size, batch):
    """Consecutive voxel id of every point, numbered in (graph, voxel key) order.

    Args:
        pos: (N, D) float32/float64 points, finite.
        start: (D,) float64 grid origin; size: (D,) float64 voxel edges (> 0).
        batch: (N,) int64 graph ids (>= 0).

    Returns:
        ``(ids, status)``: status 0, or :data:`OUTSIDE` when a point lies before the grid
        start, or :data:`OVERFLOW` when the keys would not fit below 2^62 (the caller's
        vectorised path then names the problem); ids are valid only with status 0.

    Shapes:
        pos: (N, D), batch: (N,) -> ids: (N,) int64
    """
    n, dim = pos.shape
    ids = np.empty(n, dtype=np.int64)
    coords = np.empty((n, dim), dtype=np.int64)
    ext = np.ones(dim, dtype=np.int64)
    graphs = 1
    for i in range(n):
        for d in range(dim):
            c = np.floor((np.float64(pos[i, d]) - start[d]) / size[d])
            if c < 0:
                return ids, OUTSIDE
            if c >= 2.0**62:
                return ids, OVERFLOW
            ci = np.int64(c)
            coords[i, d] = ci
            if ci + 1 > ext[d]:
                ext[d] = ci + 1
        if batch[i] + 1 > graphs:
            graphs = batch[i] + 1
    total = np.float64(graphs)
    for d in range(dim):
        total *= np.float64(ext[d])
    if total >= 2.0**62:
        return ids, OVERFLOW
    key = np.empty(n, dtype=np.int64)
    for i in range(n):
        k = np.int64(batch[i])
        for d in range(dim - 1, -1, -1):
            k = k * ext[d] + coords[i, d]
        key[i] = k
    order = np.argsort(key)
    current = -1
    prev = np.int64(-1)
    for j in range(n):
        i = order[j]
        if j == 0 or key[i] != prev:
            current += 1
            prev = key[i]
        ids[i] = current
    return ids, 0


@numba.njit(cache=True, nogil=True)
def pool_positions(cluster, pos, batch, num_clusters: int):
    """Mean position and graph of every cluster, as :func:`~evpose.graph.voxel.voxel_pool`
    computes them with ``torch_scatter`` (positions summed in node order in their own
    dtype, then divided by the count; an empty cluster gets 0 and graph 0).

    Args:
        cluster: (N,) int64 cluster ids; pos: (N, D) float32/float64; batch: (N,) int64.
        num_clusters: C.

    Returns:
        ``(pos_pooled, batch_pooled, ok)``; ``ok`` is False when an id is outside
        ``[0, C)`` or a cluster holds nodes of two graphs (the caller's vectorised path then
        names the problem).

    Shapes:
        cluster: (N,), pos: (N, D), batch: (N,) -> (C, D), (C,), bool
    """
    n, dim = pos.shape
    total = np.zeros((num_clusters, dim), dtype=pos.dtype)
    count = np.zeros(num_clusters, dtype=pos.dtype)
    graph = np.full(num_clusters, -1, dtype=np.int64)
    for i in range(n):
        c = cluster[i]
        if c < 0 or c >= num_clusters:
            return total, graph, False
        if graph[c] < 0:
            graph[c] = batch[i]
        elif graph[c] != batch[i]:
            return total, graph, False
        count[c] += 1
        for d in range(dim):
            total[c, d] += pos[i, d]
    for c in range(num_clusters):
        if graph[c] < 0:
            graph[c] = 0
        elif count[c] > 1:
            for d in range(dim):
                total[c, d] /= count[c]
    return total, graph, True
