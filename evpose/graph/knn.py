"""k nearest neighbours by spatial hashing: ``knn`` (bipartite) and ``knn_graph``.

Pure torch, CPU and CUDA, batched. Each query looks at the grid cells around it in
growing shells (Chebyshev radius 1, 2, 4, ...) and stops as soon as its k-th nearest
candidate is strictly closer than anything outside the cells seen, so the result is
exact: the k nearest points of the same graph, ties broken by the smaller index.
Queries still open after a shell of 16 cells (isolated points) start again on a grid
eight times coarser, and so on, until the grid is a single block.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from ..representations.events import on_numpy
from .hashing import CellGrid, as_batch, cell_coords, check_points, neighbour_segments
from .ops import expand_ranges, nonzero, order_key, rank_in_runs, segment_order, sort_stable, sort_values, take

#: Aim: a query's own cell holds about TARGET * k / 3^(D-1) points (most queries then
#: finish in the first 3^D block).
TARGET = 4.0

#: Queries handled together (bounds the memory of the per-query range tables).
QUERY_CHUNK = 1 << 15

#: Shells searched on one grid (radius 1, 2, 4, ... MAX_SHELL cells); queries still open
#: (isolated points) move to a grid COARSEN times coarser.
MAX_SHELL = 16
COARSEN = 8


def check_k(k) -> int:
    if isinstance(k, bool) or int(k) != k or int(k) <= 0:
        raise ValueError(f"k must be a positive integer, got {k}")
    return int(k)


def _cell_size(x: Tensor, k: int, lo: Tensor, hi: Tensor, num_graphs: int) -> float:
    """A cell edge such that a block of 3^D cells holds about 2k points of uniform data
    (dimensions that the points do not spread along are left out of the volume)."""
    n, dim = x.shape
    extent = (hi - lo).clamp_min(0).tolist()
    per_graph = max(n / max(num_graphs, 1), 1.0)
    live = [e for e in extent if e > 0]
    h = 1.0
    for _ in range(dim + 1):
        if not live:
            return 1.0
        volume = math.prod(live)
        h = (2.0 * k * volume / per_graph) ** (1.0 / len(live)) / 3.0
        still = [e for e in live if e >= h]
        if len(still) == len(live):
            break
        live = still
    return max(h, max(extent) * 1e-9, 1e-12)


def _grid_dims(lo: Tensor, hi: Tensor, h: float, num_graphs: int) -> tuple[list[int], float]:
    """Cells per axis for cell edge ``h``, and the edge (coarsened until keys fit in int64)."""
    while True:
        dims = (torch.floor((hi - lo) / h).to(torch.int64) + 1).tolist()
        if math.prod(dims) * num_graphs < (1 << 60):
            return dims, h
        h *= 2.0


def _strides(dims: list[int], device) -> Tensor:
    return torch.tensor([math.prod(dims[:d]) for d in range(len(dims))], dtype=torch.int64, device=device)


def _nearest_first(q: Tensor, j: Tensor, d2: Tensor, k: int | None, j_bits: int | None):
    """Sort candidates by (query, distance, index) and keep each query's first ``k``.

    With ``j_bits`` (float32 distances, small query ids) the three keys are packed in one
    int64 and sorted once; otherwise three stable sorts.
    """
    if j_bits is not None:
        low = 31 + j_bits
        if on_numpy(q):  # numpy: faster integer ops and sort on CPU
            d2n = d2.numpy() + np.float32(0.0)  # -0.0 -> +0.0
            kn = (q.numpy() << low) | (d2n.view(np.int32).astype(np.int64) << j_bits) | j.numpy()
            kn.sort()
            q = torch.from_numpy(kn >> low)
            j = torch.from_numpy(kn & ((1 << j_bits) - 1))
            d2 = torch.from_numpy(((kn >> j_bits) & ((1 << 31) - 1)).astype(np.int32).view(np.float32))
        else:
            key = sort_values((q << low) | (order_key(d2) << j_bits) | j)
            q = key >> low
            j = key & ((1 << j_bits) - 1)
            d2 = ((key >> j_bits) & ((1 << 31) - 1)).to(torch.int32).view(torch.float32)
        rank = rank_in_runs(q)
    else:
        order, rank = segment_order(q, d2, j)
        q, j, d2 = take(q, order), take(j, order), take(d2, order)
    if k is None:
        return q, j, d2
    idx = nonzero(rank < k)
    return take(q, idx), take(j, idx), take(d2, idx)


def knn_search(
    x: Tensor,
    y: Tensor,
    k: int,
    batch_x: Tensor | None = None,
    batch_y: Tensor | None = None,
    exclude_self: bool = False,
) -> tuple[Tensor, Tensor, Tensor]:
    """The ``k`` nearest points of ``x`` (same graph) of every point of ``y``.

    Args:
        x: points searched.
        y: query points (``y is x`` for a graph on one point set).
        k: neighbours per query (> 0).
        batch_x, batch_y: graph ids (default: one graph).
        exclude_self: with ``y is x``, a point is not its own neighbour (default False).

    Returns:
        ``(iy, ix, d2)`` sorted by query, then distance, then index of ``x``; a query
        whose graph has fewer than ``k`` points gets them all.

    Shapes:
        x: (N, D), y: (M, D) -> (E,), (E,), (E,)
    """
    k = check_k(k)
    same = y is x
    x = check_points(x, "x")
    y = x if same else check_points(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same number of coordinates, got {x.shape[1]} and {y.shape[1]}")
    if y.device != x.device:
        raise ValueError(f"x is on {x.device} but y is on {y.device}")
    dtype = torch.promote_types(x.dtype, y.dtype)
    x, y = x.to(dtype), y.to(dtype)
    device = x.device
    nx, ny = x.shape[0], y.shape[0]
    bx = as_batch(batch_x, nx, device, "batch_x")
    by = bx if same and batch_y is None else as_batch(batch_y, ny, device, "batch_y")
    empty = torch.zeros(0, dtype=torch.int64, device=device)
    if nx == 0 or ny == 0:
        return empty, empty.clone(), torch.zeros(0, dtype=dtype, device=device)
    num_graphs = int(max(bx.max(), by.max())) + 1
    lo = torch.minimum(x.min(0).values, y.min(0).values).to(torch.float64)
    hi = torch.maximum(x.max(0).values, y.max(0).values).to(torch.float64)
    h = _fit_cell_size(x, bx, k, lo, hi, num_graphs)
    self_index = torch.arange(ny, device=device) if exclude_self and same else None
    return _search(x, y, k, bx, by, self_index, h, lo, hi, num_graphs)


def _fit_cell_size(x, bx, k, lo, hi, num_graphs) -> float:
    """Cell edge for which a point's own cell holds about TARGET * k / 3^(D-1) points."""
    nx, dim = x.shape
    device = x.device
    h = _cell_size(x, k, lo, hi, num_graphs)
    for _ in range(3):
        dims, h = _grid_dims(lo, hi, h, num_graphs)
        size = torch.full((dim,), h, dtype=torch.float64, device=device)
        coords = torch.minimum(cell_coords(x, lo, size), torch.tensor(dims, device=device) - 1)
        keys = sort_values((coords * _strides(dims, device)).sum(-1) + bx * math.prod(dims))
        new = torch.ones(nx, dtype=torch.bool, device=device)
        new[1:] = keys[1:] != keys[:-1]
        counts = torch.diff(torch.cat([nonzero(new), torch.tensor([nx], device=device)])).to(torch.float64)
        per_cell = float((counts * counts).sum() / nx)  # occupancy of a point's own cell
        factor = min(max((TARGET * k / 3 ** max(dim - 1, 1) / per_cell) ** 0.5, 0.25), 4.0)
        if 0.7 < factor < 1.4:
            break
        h *= factor
    return h


def _search(x, y, k, bx, by, self_index, h, lo, hi, num_graphs):
    """knn on a grid of cell edge ``h``: shells of radius 1, 2, 4, ... MAX_SHELL cells; the
    queries not settled by then start again on a grid ``COARSEN`` times coarser."""
    device, dtype = x.device, x.dtype
    nx, ny, dim = x.shape[0], y.shape[0], x.shape[1]
    dims, h = _grid_dims(lo, hi, h, num_graphs)
    size = torch.full((dim,), h, dtype=torch.float64, device=device)
    top = torch.tensor(dims, device=device) - 1
    grid = CellGrid(torch.minimum(cell_coords(x, lo, size), top), bx, dims, num_graphs)
    cy = torch.minimum(cell_coords(y, lo, size), top)
    inside = y.to(torch.float64) - lo - cy * h  # position of each query inside its cell
    graph_size = torch.bincount(bx, minlength=num_graphs)
    need = take(graph_size, by)
    if self_index is not None:
        need = need - 1
    need = need.clamp(max=k)
    graph_start = grid.count_below(torch.arange(num_graphs, device=device) * grid.batch_stride)
    graph_end = grid.count_below(torch.arange(1, num_graphs + 1, device=device) * grid.batch_stride)

    xs = [take(x[:, d].contiguous(), grid.perm) for d in range(dim)]
    ys = [y[:, d].contiguous() for d in range(dim)]
    # queries per chunk; local query ids, distances and indices pack in one int64 key
    j_bits = max(nx - 1, 1).bit_length()
    packed = dtype == torch.float32 and 32 - j_bits >= 8
    chunk = 1 << min(15, 32 - j_bits) if packed else QUERY_CHUNK
    empty = torch.zeros(0, dtype=torch.int64, device=device)
    zero_d2 = torch.zeros(0, dtype=dtype, device=device)
    parts, leftover = [], []
    for c0 in range(0, ny, chunk):
        n_chunk = min(ny, c0 + chunk) - c0
        active = torch.arange(n_chunk, device=device)  # local query ids
        best = (empty, empty, zero_d2)
        inner, outer = -1, 1
        while active.numel():
            if outer > MAX_SHELL:  # the rest starts again on a coarser grid
                leftover.append(active + c0)
                break
            g_act = take(by, active + c0)
            segments = neighbour_segments(dim, outer, inner)
            brute = active.numel() * len(segments) > 4 * int(take(graph_size, g_act).sum())
            if brute:  # small graphs: every point of the query's graph
                starts = take(graph_start, g_act)[:, None]
                lengths = take(graph_end, g_act)[:, None] - starts
            else:
                starts, lengths = grid.ranges(take(cy, active + c0), g_act, segments)
            qa, j = expand_ranges(starts.reshape(-1), lengths.reshape(-1), group=starts.shape[1])
            q = take(active, qa)
            qg = q + c0
            d2 = take(xs[0], j)
            d2 -= take(ys[0], qg)
            d2 *= d2
            for d in range(1, dim):
                diff = take(xs[d], j)
                diff -= take(ys[d], qg)
                diff *= diff
                d2 += diff
            j = take(grid.perm, j)
            if self_index is not None:
                idx = nonzero(j != take(self_index, qg))
                q, j, d2 = take(q, idx), take(j, idx), take(d2, idx)
            if not brute:  # else the best so far is among these candidates again
                q, j, d2 = torch.cat([best[0], q]), torch.cat([best[1], j]), torch.cat([best[2], d2])
            best = _nearest_first(q, j, d2, k, j_bits if packed else None)
            # a query is done once its need-th candidate is closer than any unseen cell;
            # at most `need` entries are kept, so the farthest kept one is the need-th
            count = torch.bincount(best[0], minlength=n_chunk)
            last = torch.zeros(n_chunk, dtype=dtype, device=device).scatter_reduce(0, best[0], best[2], "amax")
            need_act = take(need, active + c0)
            if brute or outer >= max(dims):  # the shells cover the grid
                done = torch.ones(active.numel(), dtype=torch.bool, device=device)
            else:
                f = take(inside, active + c0)
                gap = torch.minimum(f + outer * h, (outer + 1) * h - f).min(1).values
                done = (take(count, active) >= need_act) & (
                    (need_act == 0) | (take(last, active).to(torch.float64) < gap * gap)
                )
            is_done = torch.zeros(n_chunk, dtype=torch.bool, device=device)
            is_done[take(active, nonzero(done))] = True
            fin = take(is_done, best[0])
            got = tuple(take(b, nonzero(fin)) for b in best)
            parts.append((got[0] + c0, got[1], got[2]))  # sorted within each query
            best = tuple(take(b, nonzero(~fin)) for b in best)
            active = take(active, nonzero(~done))
            inner, outer = outer, outer * 2
    if leftover:
        rest = torch.cat(leftover)
        sub = _search(
            x, take(y, rest), k, bx, take(by, rest), None if self_index is None else take(self_index, rest),
            h * COARSEN, lo, hi, num_graphs,
        )
        parts.append((take(rest, sub[0]), sub[1], sub[2]))
    q, j, d2 = (torch.cat([p[i] for p in parts]) for i in range(3))
    order = sort_stable(q)[1]  # group by query; each query's entries are already in order
    return take(q, order), take(j, order), take(d2, order)


def knn(
    x: Tensor,
    y: Tensor,
    k: int,
    batch_x: Tensor | None = None,
    batch_y: Tensor | None = None,
) -> Tensor:
    """For every point of ``y``, its ``k`` nearest points of ``x`` in the same graph.

    Exact (Euclidean distance in the dtype of the points), ties broken by the smaller
    index of ``x``; a query whose graph has fewer than ``k`` points gets all of them.

    Args:
        x: points searched.
        y: query points.
        k: neighbours per query (> 0).
        batch_x: graph id of each point of ``x`` (default: all in graph 0).
        batch_y: graph id of each point of ``y`` (default: all in graph 0).

    Returns:
        ``edge_index`` in torch_cluster's ``knn`` convention: row 0 indexes ``y`` (the
        query), row 1 indexes ``x``; sorted by query, then by distance.

    Shapes:
        x: (N, D), y: (M, D), batch_x: (N,), batch_y: (M,) -> (2, E) int64
    """
    iy, ix, _ = knn_search(x, y, k, batch_x, batch_y)
    return torch.stack([iy, ix])


def knn_graph(
    pos: Tensor,
    k: int,
    batch: Tensor | None = None,
    loop: bool = False,
    flow: str = "source_to_target",
) -> Tensor:
    """Edges from every node's ``k`` nearest nodes of the same graph.

    Args:
        pos: node positions.
        k: neighbours per node (> 0).
        batch: graph id of every node (default: one graph).
        loop: count the node itself as a neighbour (default False: it is excluded even
            when other nodes share its position).
        flow: ``"source_to_target"`` (default, PyG's convention as torch_cluster):
            ``edge_index[0]`` is the neighbour j, ``edge_index[1]`` the centre i.
            ``"target_to_source"`` swaps the rows.

    Returns:
        ``edge_index`` sorted by centre, then by distance.

    Shapes:
        pos: (N, D), batch: (N,) -> (2, E) int64
    """
    if flow not in ("source_to_target", "target_to_source"):
        raise ValueError(f"flow must be 'source_to_target' or 'target_to_source', got {flow!r}")
    pos = check_points(pos, "pos")
    centre, nbr, _ = knn_search(pos, pos, k, batch, None, exclude_self=not loop)
    if flow == "source_to_target":
        return torch.stack([nbr, centre])
    return torch.stack([centre, nbr])
