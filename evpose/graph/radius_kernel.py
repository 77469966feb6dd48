"""A compiled radius graph (numba) for the small CPU graphs of inference and training.

The points are bucketed into cells a little wider than ``r`` (a hash table of the occupied
cells, then a counting sort), and each cell's 3^D neighbour cells are looked up once for
all its points. Every candidate pair gets the same exact test as
:func:`~evpose.graph.radius.radius_pairs` (squared distances summed axis by axis in the
points' dtype, against ``r ** 2`` in that dtype), the same cap rule (the ``cap`` nearest,
ties to the smaller neighbour, a self-loop at distance 0) and the same order (by centre,
then neighbour): the edges are those of :func:`~evpose.graph.radius.radius_graph`'s
vectorised path, without its pair search, sorts and some thirty array operations.

The first call compiles (some seconds, cached on disk after that).
"""

from __future__ import annotations

import numba
import numpy as np

#: Cells are this much wider than r, so that no pair within r (in float) lies two cells apart.
CELL_MARGIN = 1e-5

_HASH = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing


@numba.njit(cache=True, nogil=True)
def _cell_keys(pos, batch, r):
    """Every point's cell key (graph, then cells along each axis, one empty cell of margin
    on each side), the key offsets of the 3^D neighbour cells, and False where the keys
    would not fit in 63 bits (points spread over more than about 2^62 cells)."""
    n, dim = pos.shape
    inv = 1.0 / (r * (1.0 + CELL_MARGIN))
    lo = np.full(dim, np.inf)
    for i in range(n):
        for d in range(dim):
            v = np.float64(pos[i, d])
            if v < lo[d]:
                lo[d] = v
    cell = np.empty((n, dim), dtype=np.int64)
    ext = np.zeros(dim, dtype=np.int64)
    for i in range(n):
        for d in range(dim):
            c = np.int64(np.floor((np.float64(pos[i, d]) - lo[d]) * inv)) + 1
            cell[i, d] = c
            if c + 2 > ext[d]:
                ext[d] = c + 2
    key = np.empty(n, dtype=np.int64)
    total = 1.0
    for i in range(n):
        total = max(total, np.float64(batch[i]) + 1.0)
    for d in range(dim):
        total *= np.float64(ext[d])
    if total >= 2.0**62:  # the cell keys would overflow: the caller takes another path
        return key, np.zeros(0, dtype=np.int64), False
    for i in range(n):
        k = np.int64(batch[i])
        for d in range(dim):
            k = k * ext[d] + cell[i, d]
        key[i] = k
    offsets = np.zeros(3**dim, dtype=np.int64)
    for o in range(3**dim):
        rest, stride = o, np.int64(1)
        for d in range(dim - 1, -1, -1):
            offsets[o] += (rest % 3 - 1) * stride
            stride *= ext[d]
            rest //= 3
    return key, offsets, True


@numba.njit(cache=True, nogil=True)
def _bucket(key):
    """Occupied cells: a hash table (key -> cell id) and the points grouped by cell, each
    cell's points in increasing order (counting sort)."""
    n = key.shape[0]
    bits = 4
    while (1 << bits) < 2 * n:
        bits += 1
    size = 1 << bits
    shift = np.uint64(64 - bits)
    table_key = np.full(size, -1, dtype=np.int64)
    table_id = np.empty(size, dtype=np.int64)
    cid = np.empty(n, dtype=np.int64)
    num = 0
    for i in range(n):
        h = np.int64((np.uint64(key[i]) * _HASH) >> shift)
        while table_key[h] != -1 and table_key[h] != key[i]:
            h = (h + 1) & (size - 1)
        if table_key[h] == -1:
            table_key[h] = key[i]
            table_id[h] = num
            num += 1
        cid[i] = table_id[h]
    start = np.zeros(num + 1, dtype=np.int64)
    for i in range(n):
        start[cid[i] + 1] += 1
    for c in range(num):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    members = np.empty(n, dtype=np.int64)
    first = np.full(num, -1, dtype=np.int64)  # a point of each cell (its key)
    for i in range(n):
        members[fill[cid[i]]] = i
        fill[cid[i]] += 1
        if first[cid[i]] < 0:
            first[cid[i]] = i
    return table_key, table_id, shift, start, members, first


@numba.njit(cache=True, nogil=True)
def _lookup(table_key, table_id, shift, k):
    size = table_key.shape[0]
    h = np.int64((np.uint64(k) * _HASH) >> shift)
    while table_key[h] != -1:
        if table_key[h] == k:
            return table_id[h]
        h = (h + 1) & (size - 1)
    return -1


@numba.njit(cache=True, nogil=True)
def _before(d_a, nb_a, d_b, nb_b):
    return d_a < d_b or (d_a == d_b and nb_a < nb_b)


@numba.njit(cache=True, nogil=True)
def radius_edges(pos, batch, r: float, r2, cap: int, loop: bool):
    """The edges of :func:`~evpose.graph.radius.radius_graph` as ``(centre, neighbour)``.

    Args:
        pos: (N, D) float32 or float64 points; batch: (N,) int64 graph ids (>= 0).
        r: radius; r2: ``r ** 2`` in the points' dtype (the test is ``d2 <= r2``).
        cap: incoming edges kept per centre, nearest first (-1: no cap).
        loop: add self-loops (they count towards the cap, at distance 0).

    Returns:
        centre, neighbour: int64, sorted by centre then neighbour; and whether the grid
        fitted (False: nothing computed, the cell keys would overflow).

    Shapes:
        pos: (N, D), batch: (N,) -> (E,), (E,), bool
    """
    n, dim = pos.shape
    key, offsets, ok = _cell_keys(pos, batch, r)
    if not ok:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), False
    table_key, table_id, shift, start, members, first = _bucket(key)
    num_cells = start.shape[0] - 1
    num_off = offsets.shape[0]
    zero = np.zeros_like(pos[0, :1])[0]
    # each centre's kept neighbours, written cell by cell, gathered in centre order at the end
    buf = np.empty(max(n * (cap if cap >= 0 else 16), 16), dtype=np.int64)
    at = np.empty(n, dtype=np.int64)
    count_of = np.empty(n, dtype=np.int64)
    m = 0
    near = np.empty(num_off, dtype=np.int64)
    cand_nb = np.empty(max(cap, 64), dtype=np.int64)
    cand_d2 = np.empty(max(cap, 64), dtype=pos.dtype)
    for c in range(num_cells):
        k0 = key[first[c]]
        num_near = 0
        for o in range(num_off):
            q = _lookup(table_key, table_id, shift, k0 + offsets[o])
            if q >= 0:
                near[num_near] = q
                num_near += 1
        for a in range(start[c], start[c + 1]):
            i = members[a]
            count = 0
            for s in range(num_near):
                q = near[s]
                for b in range(start[q], start[q + 1]):
                    j = members[b]
                    if j == i:
                        if not loop:
                            continue
                        d2 = zero
                    else:
                        d2 = pos[j, 0] - pos[i, 0]
                        d2 = d2 * d2
                        for d in range(1, dim):
                            diff = pos[j, d] - pos[i, d]
                            d2 += diff * diff
                        if not d2 <= r2:
                            continue
                    if cap < 0:  # every neighbour
                        if count == cand_nb.shape[0]:
                            cand_nb = np.concatenate((cand_nb, np.empty_like(cand_nb)))
                            cand_d2 = np.concatenate((cand_d2, np.empty_like(cand_d2)))
                        cand_nb[count] = j
                        cand_d2[count] = d2
                        count += 1
                    elif cap > 0 and (count < cap or _before(d2, j, cand_d2[count - 1], cand_nb[count - 1])):
                        # the cap nearest so far, kept sorted by (distance, neighbour)
                        y = count - 1 if count < cap else count - 2
                        while y >= 0 and _before(d2, j, cand_d2[y], cand_nb[y]):
                            cand_d2[y + 1], cand_nb[y + 1] = cand_d2[y], cand_nb[y]
                            y -= 1
                        cand_d2[y + 1], cand_nb[y + 1] = d2, j
                        if count < cap:
                            count += 1
            if count > 64:  # by neighbour (candidates come cell by cell)
                cand_nb[:count] = np.sort(cand_nb[:count])
            else:
                for x in range(1, count):
                    nx = cand_nb[x]
                    y = x - 1
                    while y >= 0 and cand_nb[y] > nx:
                        cand_nb[y + 1] = cand_nb[y]
                        y -= 1
                    cand_nb[y + 1] = nx
            if m + count > buf.shape[0]:
                buf = np.concatenate((buf, np.empty(max(buf.shape[0], count), dtype=np.int64)))
            buf[m : m + count] = cand_nb[:count]
            at[i] = m
            count_of[i] = count
            m += count
    centre = np.empty(m, dtype=np.int64)
    neighbour = np.empty(m, dtype=np.int64)
    e = 0
    for i in range(n):
        for x in range(count_of[i]):
            centre[e] = i
            neighbour[e] = buf[at[i] + x]
            e += 1
    return centre, neighbour, True
