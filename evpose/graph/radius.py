"""Radius neighbourhoods by spatial hashing: ``radius`` (bipartite) and ``radius_graph``.

Pure torch, CPU and CUDA, batched (points of different graphs are never connected).
When a point has more neighbours than ``max_num_neighbors``, the NEAREST ones are kept
(ties broken by the smaller neighbour index), unlike torch_cluster's CPU kernel, which
keeps whichever it finds first.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ..representations.events import on_numpy
from .hashing import CellGrid, NeighbourSegments, as_batch, cell_coords, check_points
from .ops import cumsum, expand_ranges, nonzero, segment_smallest, sort_stable, sort_values, take
from .radius_kernel import radius_edges

#: Candidate pairs examined per chunk (bounds the working memory at ~100 MB).
CHUNK_CANDIDATES = 1 << 20

#: Cells are this much larger than r so that float rounding never hides a neighbour.
CELL_MARGIN = 1e-6


def check_radius(r) -> float:
    r = float(r)
    if not r > 0 or r == float("inf"):
        raise ValueError(f"radius r must be a positive finite number, got {r}")
    return r


def check_cap(max_num_neighbors) -> int | None:
    if max_num_neighbors is None:
        return None
    cap = int(max_num_neighbors)
    if cap <= 0:
        raise ValueError(f"max_num_neighbors must be positive (or None for no cap), got {max_num_neighbors}")
    return cap


def unique_cells(sorted_keys: Tensor, perm: Tensor) -> tuple[Tensor, Tensor]:
    """First sorted position of every distinct key, and each point's distinct-key index.

    Returns:
        ``(first, inverse)``: first (U,) positions into the sorted order; inverse (N,) in
        the original point order.
    """
    n = sorted_keys.numel()
    new = torch.ones(n, dtype=torch.bool, device=sorted_keys.device)
    new[1:] = sorted_keys[1:] != sorted_keys[:-1]
    first = torch.nonzero(new).flatten()
    inverse = torch.empty(n, dtype=torch.int64, device=sorted_keys.device)
    inverse[perm] = cumsum(new.to(torch.int64)) - 1
    return first, inverse


def chunk_bounds(per_item: Tensor, budget: int) -> list[int]:
    """Split items into consecutive chunks of at most ``budget`` total (one item at least)."""
    n = per_item.numel()
    if n == 0:
        return [0]
    cs = cumsum(per_item)
    total = int(cs[-1])
    if total <= budget:
        return [0, n]
    marks = torch.arange(budget, total, budget, device=cs.device, dtype=cs.dtype)
    cuts = torch.searchsorted(cs, marks, right=True).tolist()
    bounds = [0]
    for c in cuts:
        c = max(c, bounds[-1] + 1)
        if c < n and c != bounds[-1]:
            bounds.append(c)
    bounds.append(n)
    return bounds


def radius_search(
    x: Tensor,
    y: Tensor,
    r: float,
    batch_x: Tensor | None = None,
    batch_y: Tensor | None = None,
    max_num_neighbors: int | None = 32,
    exclude_self: bool = False,
) -> tuple[Tensor, Tensor, Tensor]:
    """All pairs (y point, x point) of one graph closer than ``r``, capped per y point.

    Returns:
        ``(iy, ix, d2)``: the pairs grouped by ``iy`` in increasing order, and their
        squared distances (in the dtype of the points).

    Shapes:
        x: (N, D), y: (M, D) -> (E,), (E,), (E,)
    """
    r = check_radius(r)
    cap = check_cap(max_num_neighbors)
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
    nx, ny, dim = x.shape[0], y.shape[0], x.shape[1]
    bx = as_batch(batch_x, nx, device, "batch_x")
    by = bx if same and batch_y is None else as_batch(batch_y, ny, device, "batch_y")
    empty = torch.zeros(0, dtype=torch.int64, device=device)
    if nx == 0 or ny == 0:
        return empty, empty.clone(), torch.zeros(0, dtype=dtype, device=device)

    lo = torch.minimum(x.min(0).values, y.min(0).values).to(torch.float64)
    hi = torch.maximum(x.max(0).values, y.max(0).values).to(torch.float64)
    cell = torch.full((dim,), r * (1 + CELL_MARGIN), dtype=torch.float64, device=device)
    dims = (torch.floor((hi - lo) / cell).to(torch.int64) + 1).tolist()
    num_batches = int(max(bx.max(), by.max())) + 1
    dims_t = torch.tensor(dims, device=device)
    cx = torch.minimum(cell_coords(x, lo, cell), dims_t - 1)
    grid = CellGrid(cx, bx, dims, num_batches)

    # neighbourhoods are looked up once per distinct query cell
    if same:
        cy, q_sorted, q_perm = cx, grid.sorted_keys, grid.perm
    else:
        cy = torch.minimum(cell_coords(y, lo, cell), dims_t - 1)
        q_sorted, q_perm = sort_stable(grid.encode(cy, by))
    first, inverse = unique_cells(q_sorted, q_perm)
    rep = q_perm[first]
    segments = NeighbourSegments(dim, 1)
    starts_u, lengths_u = grid.ranges(cy[rep], by[rep], segments)
    num_seg = len(segments)

    xs = [take(x[:, d].contiguous(), grid.perm) for d in range(dim)]  # x columns in cell order
    ys = [y[:, d].contiguous() for d in range(dim)]
    r2 = torch.tensor(r, dtype=dtype) ** 2
    per_point = lengths_u.sum(1)[inverse]
    out_y, out_x, out_d2 = [], [], []
    bounds = chunk_bounds(per_point, CHUNK_CANDIDATES)
    rank = None
    if exclude_self:  # sorted position of every point, to drop i == j pairs
        rank = torch.empty_like(grid.perm)
        rank[grid.perm] = torch.arange(nx, device=device)
    for a, b in zip(bounds[:-1], bounds[1:]):
        rows = inverse[a:b]
        q, j = expand_ranges(
            take(starts_u, rows).reshape(-1), take(lengths_u, rows).reshape(-1), group=num_seg
        )
        if q.numel() == 0:
            continue
        q += a
        d2 = take(xs[0], j)
        d2 -= take(ys[0], q)
        d2 *= d2
        for d in range(1, dim):
            diff = take(xs[d], j)
            diff -= take(ys[d], q)
            diff *= diff
            d2 += diff
        keep = d2 <= r2
        if exclude_self:
            keep &= j != take(rank, q)
        idx = nonzero(keep)
        q, j, d2 = take(q, idx), take(grid.perm, take(j, idx)), take(d2, idx)
        if cap is not None and q.numel():
            counts = torch.bincount(q - a, minlength=b - a)
            over = take(counts, q - a) > cap
            if bool(over.any()):
                keep = ~over
                sub = nonzero(over)
                keep[sub] = segment_smallest(take(q, sub), take(d2, sub), take(j, sub), cap)
                idx = nonzero(keep)
                q, j, d2 = take(q, idx), take(j, idx), take(d2, idx)
        out_y.append(q), out_x.append(j), out_d2.append(d2)
    if not out_y:
        return empty, empty.clone(), torch.zeros(0, dtype=dtype, device=device)
    return torch.cat(out_y), torch.cat(out_x), torch.cat(out_d2)


def radius(
    x: Tensor,
    y: Tensor,
    r: float,
    batch_x: Tensor | None = None,
    batch_y: Tensor | None = None,
    max_num_neighbors: int | None = 32,
) -> Tensor:
    """For every point of ``y``, the points of ``x`` (same graph) within distance ``r``.

    Distances are Euclidean in the dtype of the points and the ball is closed
    (``|x_j - y_i| <= r``). With more than ``max_num_neighbors`` such points, the nearest
    ones are kept (ties: the smaller index of ``x``).

    Args:
        x: points searched.
        y: query points.
        r: radius (> 0).
        batch_x: graph id of each point of ``x`` (default: all in graph 0).
        batch_y: graph id of each point of ``y`` (default: all in graph 0).
        max_num_neighbors: cap per query point (default 32; None: no cap).

    Returns:
        ``edge_index`` in torch_cluster's ``radius`` convention: row 0 indexes ``y``
        (the query), row 1 indexes ``x``; grouped by row 0 in increasing order.

    Shapes:
        x: (N, D), y: (M, D), batch_x: (N,), batch_y: (M,) -> (2, E) int64
    """
    iy, ix, _ = radius_search(x, y, r, batch_x, batch_y, max_num_neighbors)
    return torch.stack([iy, ix])


def radius_pairs(pos: Tensor, r: float, batch: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Every unordered pair of distinct points of one graph within distance ``r``, once.

    On the CPU, up to :data:`KDTREE_MAX_POINTS` points (an inference window's graph and its
    pyramid), the candidate pairs come from scipy's k-d tree (:func:`kdtree_pairs`: 2.6x
    faster there); larger point sets and other devices use the cell grid
    (:func:`grid_radius_pairs`, 2x faster than the k-d tree from 7.5k events on, README
    "Benchmarks"). Both return the same pairs with the same squared distances (in another order).

    Args:
        pos: point positions.
        r: radius (> 0); the ball is closed (``<= r``).
        batch: graph id of every point (default: one graph).

    Returns:
        ``(i, j, d2)``: the pairs and their squared distances (dtype of ``pos``).

    Shapes:
        pos: (N, D), batch: (N,) -> (P,), (P,), (P,)
    """
    r = check_radius(r)
    pos = check_points(pos, "pos")
    if on_numpy(pos) and pos.shape[0] <= KDTREE_MAX_POINTS and pos.dtype not in (torch.float16, torch.bfloat16):
        return kdtree_pairs(pos, r, batch)
    return grid_radius_pairs(pos, r, batch)


def grid_radius_pairs(pos: Tensor, r: float, batch: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`radius_pairs` by spatial hashing (pure torch, any device).

    Each pair of neighbouring cells is visited once (the forward half of the 3^D
    neighbourhood), so every distance is computed once: half the work of a
    per-point search.

    Shapes:
        pos: (N, D), batch: (N,) -> (P,), (P,), (P,)
    """
    r = check_radius(r)
    pos = check_points(pos, "pos")
    device, (n, dim) = pos.device, pos.shape
    b = as_batch(batch, n, device)
    empty = torch.zeros(0, dtype=torch.int64, device=device)
    if n < 2:
        return empty, empty.clone(), torch.zeros(0, dtype=pos.dtype, device=device)
    lo = pos.min(0).values.to(torch.float64)
    hi = pos.max(0).values.to(torch.float64)
    cell = torch.full((dim,), r * (1 + CELL_MARGIN), dtype=torch.float64, device=device)
    dims = (torch.floor((hi - lo) / cell).to(torch.int64) + 1).tolist()
    coords = torch.minimum(cell_coords(pos, lo, cell), torch.tensor(dims, device=device) - 1)
    grid = CellGrid(coords, b, dims)

    new = torch.ones(n, dtype=torch.bool, device=device)
    new[1:] = grid.sorted_keys[1:] != grid.sorted_keys[:-1]
    first = nonzero(new)
    cell_of = cumsum(new.to(torch.int64)) - 1  # cell id of every sorted position
    rep = take(grid.perm, first)
    segments = NeighbourSegments.forward_half(dim)
    starts_u, lengths_u = grid.ranges(take(coords, rep), take(b, rep), segments)
    own_end = starts_u[:, 0] + lengths_u[:, 0]  # end of the run [own cell, next cell]
    num_seg = len(segments)

    xs = [take(pos[:, d].contiguous(), grid.perm) for d in range(dim)]
    r2 = torch.tensor(r, dtype=pos.dtype) ** 2
    positions = torch.arange(n, device=device)
    own_len = take(own_end, cell_of) - positions - 1  # own run starts just after the point
    per_point = take(lengths_u[:, 1:].sum(1), cell_of) + own_len
    out_i, out_j, out_d2 = [], [], []
    bounds = chunk_bounds(per_point, CHUNK_CANDIDATES)
    for a, c in zip(bounds[:-1], bounds[1:]):
        cells = cell_of[a:c]
        st = take(starts_u, cells)
        ln = take(lengths_u, cells)
        st[:, 0] = positions[a:c] + 1
        ln[:, 0] = own_len[a:c]
        q, j = expand_ranges(st.reshape(-1), ln.reshape(-1), group=num_seg)
        if q.numel() == 0:
            continue
        q += a
        d2 = take(xs[0], j)
        d2 -= take(xs[0], q)
        d2 *= d2
        for d in range(1, dim):
            diff = take(xs[d], j)
            diff -= take(xs[d], q)
            diff *= diff
            d2 += diff
        idx = nonzero(d2 <= r2)
        out_i.append(take(grid.perm, take(q, idx)))
        out_j.append(take(grid.perm, take(j, idx)))
        out_d2.append(take(d2, idx))
        del q, j, d2, idx
    if not out_i:
        return empty, empty.clone(), torch.zeros(0, dtype=pos.dtype, device=device)
    return torch.cat(out_i), torch.cat(out_j), torch.cat(out_d2)


#: Largest point set whose CPU radius pairs come from the k-d tree (see :func:`radius_pairs`).
KDTREE_MAX_POINTS = 4096

#: The k-d tree looks a little further than r, so that no pair within r in the points' own
#: dtype is lost to its float64 distances; the exact test follows (float32 errors are ~1e-7).
KDTREE_MARGIN = 1e-5


def kdtree_pairs(pos: Tensor, r: float, batch: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`radius_pairs` on the CPU with scipy's k-d tree (C++; for the few thousand
    nodes of an event graph several times faster than the grid's candidate expansion).

    The tree finds the pairs within ``r * (1 + KDTREE_MARGIN)``; the squared distances are
    then computed as :func:`grid_radius_pairs` does (same dtype, same order of operations)
    and tested against ``r ** 2``, so the pairs and distances are the same.

    Shapes:
        pos: (N, D) CPU, batch: (N,) -> (P,), (P,), (P,)
    """
    from scipy.spatial import cKDTree

    r = check_radius(r)
    pos = check_points(pos, "pos")
    n, dim = pos.shape
    b = as_batch(batch, n, pos.device)
    empty = torch.zeros(0, dtype=torch.int64)
    if n < 2:
        return empty, empty.clone(), torch.zeros(0, dtype=pos.dtype)
    pts = pos.detach().numpy().astype(np.float64)
    reach = r * (1 + KDTREE_MARGIN)
    if int(b.max()) > 0:  # graphs apart along one more axis, further than the search reaches
        span = float(pts.max() - pts.min()) if pts.size else 0.0
        pts = np.concatenate([pts, b.numpy()[:, None] * (span + 4 * reach)], axis=1)
    ij = cKDTree(pts, leafsize=16, balanced_tree=False, compact_nodes=False).query_pairs(reach, output_type="ndarray")
    i, j = ij[:, 0].astype(np.int64), ij[:, 1].astype(np.int64)
    # as grid_radius_pairs: (pos_j - pos_i)^2 summed axis by axis, in the points' dtype (numpy
    # on the same memory: the same IEEE operations, without torch's per-call overhead)
    cols = pos.detach().numpy().T
    d2 = None
    for d in range(dim):
        diff = cols[d][j] - cols[d][i]
        diff *= diff
        d2 = diff if d2 is None else np.add(d2, diff, out=d2)
    keep = d2 <= (torch.tensor(r, dtype=pos.dtype) ** 2).numpy()
    if b.numel() and int(b.max()) > 0:
        bb = b.numpy()
        keep &= bb[i] == bb[j]
    idx = np.flatnonzero(keep)
    return torch.from_numpy(i[idx]), torch.from_numpy(j[idx]), torch.from_numpy(d2[idx])


def radius_graph(
    pos: Tensor,
    r: float,
    batch: Tensor | None = None,
    max_num_neighbors: int | None = 32,
    loop: bool = False,
    flow: str = "source_to_target",
) -> Tensor:
    """Edges between the points of one graph that lie within distance ``r``.

    Each node keeps at most ``max_num_neighbors`` incoming edges, from its nearest
    neighbours (ties: the smaller index); the node itself does not count unless
    ``loop``. Without a cap (or below it) the graph is symmetric.

    Args:
        pos: node positions.
        r: radius (> 0); the ball is closed (``<= r``).
        batch: graph id of every node (default: one graph); nodes of different graphs
            are never connected. Need not be sorted.
        max_num_neighbors: cap per node (default 32; None: no cap).
        loop: add self-loops (default False); a self-loop counts towards the cap.
        flow: ``"source_to_target"`` (default) gives PyG's convention, as
            torch_cluster: ``edge_index[0]`` is the neighbour j (message source),
            ``edge_index[1]`` the centre i (where PyG's MessagePassing aggregates).
            ``"target_to_source"`` swaps the rows.

    Returns:
        ``edge_index``, coalesced: sorted by centre, then by neighbour.

    CPU graphs of up to :data:`SMALL_GRAPH_NODES` float32/float64 points come from one
    compiled pass (:func:`~evpose.graph.radius_kernel.radius_edges`); the others from
    :func:`radius_pairs` and sorts of packed keys. Both give the same edges.

    Shapes:
        pos: (N, D), batch: (N,) -> (2, E) int64
    """
    if flow not in ("source_to_target", "target_to_source"):
        raise ValueError(f"flow must be 'source_to_target' or 'target_to_source', got {flow!r}")
    cap = check_cap(max_num_neighbors)
    pos = check_points(pos, "pos")
    n, device = pos.shape[0], pos.device
    if on_numpy(pos) and 0 < n <= SMALL_GRAPH_NODES and pos.dtype in (torch.float32, torch.float64):
        r = check_radius(r)
        b = as_batch(batch, n, device)
        r2 = (torch.tensor(r, dtype=pos.dtype) ** 2).numpy()[()]  # as radius_pairs tests it
        centre, nb, fitted = radius_edges(pos.detach().numpy(), b.numpy(), r, r2, -1 if cap is None else cap, bool(loop))
        if fitted:
            src, dst = (centre, nb) if flow == "target_to_source" else (nb, centre)
            return torch.from_numpy(np.stack([src, dst]))
    i, j, d2 = radius_pairs(pos, r, batch)
    bits = max(n - 1, 1).bit_length()
    # every pair gives two directed edges; each is packed as (centre << bits) | neighbour
    if cap is not None and n:
        degree = torch.bincount(i, minlength=n) + torch.bincount(j, minlength=n) + int(loop)
        capped = int(degree.max()) > cap
    else:
        capped = False
    p = i.numel()
    if capped:  # centres over the cap keep their nearest; the others keep every edge
        over = degree > cap
        hit = [take(over, i), take(over, j)]  # centre i (forward), centre j (backward)
        chosen = _nearest_of_capped(i, j, d2, hit, over, cap, loop, bits)
        sizes = [p - int(h.sum()) for h in hit]
        keys = torch.empty(sizes[0] + sizes[1] + chosen.numel(), dtype=torch.int64, device=device)
        at = 0
        for (c, nb), h, size in zip(((i, j), (j, i)), hit, sizes):
            idx = nonzero(~h)
            torch.bitwise_left_shift(take(c, idx), bits, out=keys[at : at + size]).bitwise_or_(take(nb, idx))
            at += size
            del idx
        keys[at:] = chosen
        del hit, chosen
    else:  # one buffer, filled in place (large fresh allocations are costly)
        keys = torch.empty(2 * p + (n if loop else 0), dtype=torch.int64, device=device)
        torch.bitwise_left_shift(i, bits, out=keys[:p]).bitwise_or_(j)
        torch.bitwise_left_shift(j, bits, out=keys[p : 2 * p]).bitwise_or_(i)
        if loop:
            ids = torch.arange(n, device=device)
            torch.bitwise_left_shift(ids, bits, out=keys[2 * p :]).bitwise_or_(ids)
    del i, j, d2
    keys = sort_values(keys, inplace=True)  # all distinct: coalesced order
    out = torch.empty((2, keys.numel()), dtype=torch.int64, device=device)
    src, dst = (1, 0) if flow == "target_to_source" else (0, 1)
    torch.bitwise_and(keys, (1 << bits) - 1, out=out[src])
    torch.bitwise_right_shift(keys, bits, out=out[dst])
    return out


#: Largest CPU graph whose edges come from the compiled kernel (:mod:`.radius_kernel`); larger
#: graphs and other devices take the vectorised path (pairs, then packed-key sorts).
SMALL_GRAPH_NODES = 1 << 16


def _nearest_of_capped(i, j, d2, hit, over, cap, loop, bits) -> Tensor:
    """Packed keys of the edges kept at the centres over the cap: their ``cap`` nearest
    (ties: smaller neighbour index; a self-loop is at distance 0)."""
    cand_c, cand_nb, cand_d2 = [], [], []
    for (c, nb), h in zip(((i, j), (j, i)), hit):
        sub = nonzero(h)
        cand_c.append(take(c, sub)), cand_nb.append(take(nb, sub)), cand_d2.append(take(d2, sub))
    if loop:
        ids = nonzero(over)
        cand_c.append(ids), cand_nb.append(ids), cand_d2.append(torch.zeros(ids.numel(), dtype=d2.dtype, device=d2.device))
    c, nb, dd = torch.cat(cand_c), torch.cat(cand_nb), torch.cat(cand_d2)
    keep = nonzero(segment_smallest(c, dd, nb, cap))
    c, nb = take(c, keep), take(nb, keep)
    chosen = (c << bits) | nb
    if loop:  # self-loops of the centres under the cap
        ids = nonzero(~over)
        chosen = torch.cat([chosen, (ids << bits) | ids])
    return chosen
