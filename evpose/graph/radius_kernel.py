"""A compiled radius graph (numba) for the small CPU graphs of inference and training.

One pass per node over the 3^D cells around it (cells a little wider than ``r``), the
same exact test as :func:`~evpose.graph.radius.radius_pairs` (squared distances summed
axis by axis in the points' dtype, against ``r ** 2`` in that dtype), the same cap rule
(the ``cap`` nearest, ties to the smaller neighbour, a self-loop at distance 0) and the
same order (by centre, then neighbour): the edges are those of
:func:`~evpose.graph.radius.radius_graph`'s vectorised path, without its k-d tree, sorts and
some thirty array operations (most of the time of a small graph).

The first call compiles (a few seconds, cached on disk after that).
"""

from __future__ import annotations

import numba
import numpy as np

#: Cells are this much wider than r, so that no pair within r (in float) lies two cells apart.
CELL_MARGIN = 1e-5


@numba.njit(cache=True, nogil=True)
def _cells(pos, batch, r):
    """Every point's cell key (graph, then cells along each axis) and the grid's extents."""
    n, dim = pos.shape
    inv = 1.0 / (r * (1.0 + CELL_MARGIN))
    lo = np.empty(dim, dtype=np.float64)
    for d in range(dim):
        lo[d] = np.inf
        for i in range(n):
            v = np.float64(pos[i, d])
            if v < lo[d]:
                lo[d] = v
    cell = np.empty((n, dim), dtype=np.int64)
    ext = np.zeros(dim, dtype=np.int64)
    for i in range(n):
        for d in range(dim):
            c = np.int64(np.floor((np.float64(pos[i, d]) - lo[d]) * inv))
            cell[i, d] = c
            if c + 1 > ext[d]:
                ext[d] = c + 1
    key = np.empty(n, dtype=np.int64)
    for i in range(n):
        k = np.int64(batch[i])
        for d in range(dim):
            k = k * (ext[d] + 2) + cell[i, d] + 1  # one empty cell of margin on each side
        key[i] = k
    return cell, ext, key


@numba.njit(cache=True, nogil=True)
def radius_edges(pos, batch, r: float, r2, cap: int, loop: bool):
    """The edges of :func:`~evpose.graph.radius.radius_graph` as ``(centre, neighbour)``.

    Args:
        pos: (N, D) float32 or float64 points; batch: (N,) int64 graph ids (>= 0).
        r: radius; r2: ``r ** 2`` in the points' dtype (the test is ``d2 <= r2``).
        cap: incoming edges kept per centre, nearest first (-1: no cap).
        loop: add self-loops (they count towards the cap, at distance 0).

    Returns:
        centre, neighbour: int64, sorted by centre then neighbour.

    Shapes:
        pos: (N, D), batch: (N,) -> (E,), (E,)
    """
    n, dim = pos.shape
    cell, ext, key = _cells(pos, batch, r)
    order = np.argsort(key, kind="mergesort")
    skey = key[order]
    strides = np.empty(dim, dtype=np.int64)
    s = 1
    for d in range(dim - 1, -1, -1):
        strides[d] = s
        s *= ext[d] + 2
    num_off = 3**dim
    offsets = np.empty(num_off, dtype=np.int64)
    for o in range(num_off):
        rest, off = o, 0
        for d in range(dim):
            off += (rest % 3 - 1) * strides[d]
            rest //= 3
        offsets[o] = off
    size = max(n * (cap if cap >= 0 else 16), 16)
    out_c = np.empty(size, dtype=np.int64)
    out_nb = np.empty(size, dtype=np.int64)
    m = 0
    cand_nb = np.empty(64, dtype=np.int64)
    cand_d2 = np.empty(64, dtype=pos.dtype)
    zero = np.zeros_like(pos[0, :1])[0]
    for i in range(n):
        count = 0
        for o in range(num_off):
            want = key[i] + offsets[o]
            a = np.searchsorted(skey, want)
            while a < n and skey[a] == want:
                j = order[a]
                a += 1
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
                if count == cand_nb.shape[0]:
                    cand_nb = np.concatenate((cand_nb, np.empty_like(cand_nb)))
                    cand_d2 = np.concatenate((cand_d2, np.empty_like(cand_d2)))
                cand_nb[count] = j
                cand_d2[count] = d2
                count += 1
        keep = cand_nb[:count]
        if cap >= 0 and count > cap:  # the cap nearest, ties to the smaller neighbour
            by = np.argsort(cand_nb[:count], kind="mergesort")
            by = by[np.argsort(cand_d2[:count][by], kind="mergesort")]
            keep = cand_nb[:count][by[:cap]]
        keep = np.sort(keep)
        if m + keep.shape[0] > out_c.shape[0]:
            grow = max(out_c.shape[0], keep.shape[0])
            out_c = np.concatenate((out_c, np.empty(grow, dtype=np.int64)))
            out_nb = np.concatenate((out_nb, np.empty(grow, dtype=np.int64)))
        for e in range(keep.shape[0]):
            out_c[m] = i
            out_nb[m] = keep[e]
            m += 1
    return out_c[:m], out_nb[:m]
