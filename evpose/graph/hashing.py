"""Spatial hashing on a regular grid: the machinery under radius, knn and voxel ops.

Points are binned into the cells of a regular grid whose int64 key also encodes the
batch (graph) id, most significant first, so points of different graphs never share a
cell and are never compared. Sorting points by key puts every cell (and every run of
cells along the first axis) in one contiguous slice of the sorted order; a
neighbourhood query is then a handful of key ranges per query cell, expanded into
candidate pairs without any per-point Python loop.

Everything here is plain torch (CPU and CUDA). On CPU the few operations that torch
runs slowly there (sorting integer keys, cumulative sums) go through numpy on the
same memory; the results are identical.
"""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from ..representations.events import on_numpy

#: Largest key (exclusive) a grid may use; leaves room for the +1 of range ends.
MAX_KEY = 1 << 62


# --------------------------------------------------------------------------- primitives


def cumsum(x: Tensor) -> Tensor:
    """Inclusive cumulative sum along the only dimension (int64 for integer input).

    Shapes:
        x: (N,) -> (N,)
    """
    if on_numpy(x) and x.numel():
        arr = x.numpy()
        dtype = np.int64 if arr.dtype.kind in "biu" else None
        return torch.from_numpy(np.cumsum(arr, dtype=dtype))
    return torch.cumsum(x, 0, dtype=torch.int64 if not x.is_floating_point() else None)


def sort_stable(keys: Tensor) -> tuple[Tensor, Tensor]:
    """Stable ascending sort of non-negative int64 keys.

    Returns:
        ``(sorted_keys, perm)`` with ``sorted_keys == keys[perm]``; equal keys keep
        their input order, so the result is the same on every device.

    Shapes:
        keys: (N,) -> (N,), (N,)
    """
    n = keys.numel()
    if on_numpy(keys) and n > 1:
        bits = (n - 1).bit_length()
        kmax = int(keys.max())
        if int(keys.min()) >= 0 and kmax < (1 << (63 - bits)):
            # pack the position under the key: one plain (SIMD) sort of unique int64
            packed = keys.numpy().astype(np.int64, copy=False) << bits
            packed |= np.arange(n, dtype=np.int64)
            packed.sort()
            return torch.from_numpy(packed >> bits), torch.from_numpy(packed & ((1 << bits) - 1))
    out = torch.sort(keys, stable=True)
    return out.values, out.indices


def sort_values(keys: Tensor, inplace: bool = False) -> Tensor:
    """Ascending sort of int64 values (no permutation; for keys that are all distinct or
    whose order among equals does not matter). ``inplace`` sorts ``keys`` itself on CPU.

    Shapes:
        keys: (N,) -> (N,)
    """
    if on_numpy(keys):
        if inplace:
            keys.numpy().sort()
            return keys
        return torch.from_numpy(np.sort(keys.numpy()))
    return torch.sort(keys).values


def rank_in_runs(sorted_keys: Tensor) -> Tensor:
    """Position of every entry of a sorted array inside its run of equal keys (0, 1, ...).

    Shapes:
        sorted_keys: (N,) -> (N,) int64
    """
    n = sorted_keys.numel()
    if on_numpy(sorted_keys):  # torch.cummax is slow on CPU
        keys = sorted_keys.numpy()
        new = np.ones(n, dtype=bool)
        np.not_equal(keys[1:], keys[:-1], out=new[1:])
        pos = np.arange(n)
        return torch.from_numpy(pos - np.maximum.accumulate(np.where(new, pos, 0)))
    pos = torch.arange(n, device=sorted_keys.device)
    new = torch.ones(n, dtype=torch.bool, device=sorted_keys.device)
    new[1:] = sorted_keys[1:] != sorted_keys[:-1]
    return pos - torch.cummax(torch.where(new, pos, 0), 0).values


def take(a: Tensor, index: Tensor) -> Tensor:
    """``a[index]`` along dim 0 (index_select: several times faster than advanced
    indexing on CPU).

    Shapes:
        a: (N, ...), index: (M,) -> (M, ...)
    """
    return a.index_select(0, index)


def nonzero(mask: Tensor) -> Tensor:
    """Positions of the True entries of a 1-D mask, int64.

    Shapes:
        mask: (N,) -> (M,)
    """
    if on_numpy(mask):
        return torch.from_numpy(np.flatnonzero(mask.numpy()))
    return torch.nonzero(mask).flatten()


def floordiv(a: Tensor, k: int) -> Tensor:
    """``a // k`` for int64 ``a`` and a positive int ``k``."""
    if on_numpy(a):
        return torch.from_numpy(a.numpy() // k)
    return torch.div(a, k, rounding_mode="floor")


def expand_ranges(starts: Tensor, lengths: Tensor, group: int = 1) -> tuple[Tensor, Tensor]:
    """Concatenate the integer ranges ``[starts[r], starts[r] + lengths[r])``.

    Args:
        starts, lengths: the ranges.
        group: report owners as ``r // group`` (e.g. the query of a row of ranges).

    Returns:
        ``(owner, values)``: for every element of the concatenation, the range it came
        from (divided by ``group``) and its value. Empty ranges contribute nothing.

    Shapes:
        starts, lengths: (R,) int64 -> owner, values: (sum(lengths),) int64
    """
    if on_numpy(starts):
        owner, values = _expand_ranges_numpy(starts.numpy(), lengths.numpy(), group)
        return torch.from_numpy(owner), torch.from_numpy(values)
    return _expand_ranges_torch(starts, lengths, group)


def _expand_ranges_numpy(starts: np.ndarray, lengths: np.ndarray, group: int) -> tuple[np.ndarray, np.ndarray]:
    nz = np.flatnonzero(lengths > 0)
    if nz.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ln = lengths[nz]
    st = starts[nz]
    ends = np.cumsum(ln)
    first = ends[:-1]
    # both outputs are running sums of steps: +1 (values) or 0 (owner) inside a range,
    # a jump where each range begins
    values = np.ones(int(ends[-1]), np.int64)
    values[0] = st[0]
    values[first] = st[1:] - (st[:-1] + ln[:-1] - 1)
    np.cumsum(values, out=values)
    ids = nz // group if group != 1 else nz
    owner = np.zeros(int(ends[-1]), np.int64)
    owner[0] = ids[0]
    owner[first] = np.diff(ids)
    np.cumsum(owner, out=owner)
    return owner, values


def _expand_ranges_torch(starts: Tensor, lengths: Tensor, group: int) -> tuple[Tensor, Tensor]:
    device = starts.device
    nz = torch.nonzero(lengths > 0).flatten()
    if nz.numel() == 0:
        empty = torch.zeros(0, dtype=torch.int64, device=device)
        return empty, empty.clone()
    ln = lengths[nz]
    st = starts[nz]
    ends = torch.cumsum(ln, 0)
    total = int(ends[-1])
    first = ends[:-1]
    values = torch.ones(total, dtype=torch.int64, device=device)
    values[0] = st[0]
    values[first] = st[1:] - (st[:-1] + ln[:-1] - 1)
    ids = torch.div(nz, group, rounding_mode="floor") if group != 1 else nz
    owner = torch.zeros(total, dtype=torch.int64, device=device)
    owner[0] = ids[0]
    owner[first] = ids[1:] - ids[:-1]
    return torch.cumsum(owner, 0), torch.cumsum(values, 0)


def order_key(score: Tensor) -> Tensor:
    """Non-negative int64 keys that sort like ``score`` (floats: by their bit patterns,
    which order like the values for non-negative floats; -0.0 counts as 0)."""
    if not score.is_floating_point():
        return score.to(torch.int64) - (int(score.min()) if score.numel() else 0)
    if score.numel() and float(score.min()) < 0:
        raise ValueError("order_key needs non-negative scores")
    score = score + 0.0  # -0.0 -> +0.0
    if score.dtype == torch.float64:
        return score.view(torch.int64)
    return score.to(torch.float32).view(torch.int32).to(torch.int64)


def segment_order(segment: Tensor, score: Tensor, index: Tensor) -> tuple[Tensor, Tensor]:
    """Lexicographic order of entries by (segment, score, index), and each entry's rank
    inside its segment.

    Args:
        segment: group id of every entry (any order).
        score: non-negative values to rank by (e.g. squared distances).
        index: non-negative tie-breaker (e.g. the neighbour's index).

    Returns:
        ``(order, rank)``: ``order`` (M,) sorts the entries; ``rank`` (M,) is the rank of
        ``order[m]`` within its segment (0 = smallest score).

    Shapes:
        segment, score, index: (M,)
    """
    m = segment.numel()
    if m == 0:
        empty = torch.zeros(0, dtype=torch.int64, device=segment.device)
        return empty, empty.clone()
    # three stable sorts, least significant key first
    order = sort_stable(index.to(torch.int64))[1]
    order = take(order, sort_stable(take(order_key(score), order))[1])
    seg_sorted, o = sort_stable(take(segment.to(torch.int64), order))
    return take(order, o), rank_in_runs(seg_sorted)


def segment_smallest(segment: Tensor, score: Tensor, index: Tensor, k: int) -> Tensor:
    """Keep, in every segment, the ``k`` entries of smallest ``score`` (ties: smaller ``index``).

    Args:
        segment: group id of every entry (any order).
        score: non-negative values to rank by (e.g. squared distances).
        index: non-negative tie-breaker (e.g. the neighbour's index).
        k: entries kept per segment.

    Returns:
        (M,) bool mask of the kept entries.

    Shapes:
        segment, score, index: (M,)
    """
    keep = torch.zeros(segment.numel(), dtype=torch.bool, device=segment.device)
    order, rank = segment_order(segment, score, index)
    keep[order] = rank < k
    return keep


# --------------------------------------------------------------------------- the grid


def as_batch(batch: Tensor | None, n: int, device, name: str = "batch") -> Tensor:
    """A checked (N,) int64 batch vector (zeros when None)."""
    if batch is None:
        return torch.zeros(n, dtype=torch.int64, device=device)
    if batch.dim() != 1 or batch.numel() != n:
        raise ValueError(f"{name} must have shape ({n},), got {tuple(batch.shape)}")
    if batch.is_floating_point():
        raise ValueError(f"{name} must be an integer tensor, got {batch.dtype}")
    batch = batch.to(device=device, dtype=torch.int64)
    if n and int(batch.min()) < 0:
        raise ValueError(f"{name} holds negative graph ids (min {int(batch.min())})")
    return batch


def check_points(pos: Tensor, name: str = "pos") -> Tensor:
    """``pos`` as an (N, D) floating tensor with finite values, else ValueError."""
    if not isinstance(pos, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(pos).__name__}")
    if pos.dim() == 1:
        pos = pos.unsqueeze(-1)
    if pos.dim() != 2:
        raise ValueError(f"{name} must have shape (N, D), got {tuple(pos.shape)}")
    if not pos.is_floating_point():
        pos = pos.to(torch.float32)
    if pos.numel() and not bool(torch.isfinite(pos).all()):
        bad = torch.nonzero(~torch.isfinite(pos))[0].tolist()
        raise ValueError(f"{name}[{bad[0]}, {bad[1]}] is not finite ({pos[bad[0], bad[1]].item()})")
    return pos


#: A grid gets a dense table of prefix counts (4 bytes a cell below 2^31 points) when
#: it has at most this many cells per point (plus 2^20).
DENSE_CELLS_PER_POINT = 16


def _prefix_counts(sorted_keys: Tensor, num_keys: int) -> Tensor:
    """``prefix[c]`` = number of keys below c, for c in [0, num_keys], from sorted keys
    (one pass writing the table, no per-cell counting array)."""
    n = sorted_keys.numel()
    dtype = torch.int32 if n < (1 << 31) else torch.int64
    device = sorted_keys.device
    if n == 0:
        return torch.zeros(num_keys + 1, dtype=dtype, device=device)
    new = torch.ones(n, dtype=torch.bool, device=device)
    new[1:] = sorted_keys[1:] != sorted_keys[:-1]
    first = nonzero(new)
    ukeys = take(sorted_keys, first)
    # keys in (ukeys[i-1], ukeys[i]] have first[i] points below them; above the last, n
    values = torch.cat([first, torch.tensor([n], device=device)]).to(dtype)
    lengths = torch.diff(ukeys, prepend=torch.tensor([-1], device=device), append=torch.tensor([num_keys], device=device))
    if on_numpy(values):
        return torch.from_numpy(np.repeat(values.numpy(), lengths.numpy()))
    return torch.repeat_interleave(values, lengths, output_size=num_keys + 1)


class CellGrid:
    """Points sorted by the cell of a regular grid they fall in.

    Args:
        coords: integer cell coordinates, each in ``[0, dims[d])``.
        batch: graph id of every point (>= 0).
        dims: cells along each axis.
        num_batches: number of graphs (default ``batch.max() + 1``).

    Attributes:
        keys: (N,) cell key of every point; ``perm`` sorts them into ``sorted_keys``.

    Shapes:
        coords: (N, D) int64, batch: (N,) int64
    """

    def __init__(self, coords: Tensor, batch: Tensor, dims: Sequence[int], num_batches: int | None = None):
        self.device = coords.device
        self.dims = [max(int(d), 1) for d in dims]
        n = coords.shape[0]
        self.num_batches = int(num_batches) if num_batches is not None else (int(batch.max()) + 1 if n else 1)
        strides = [1]
        for d in self.dims:
            strides.append(strides[-1] * d)
        self.batch_stride = strides[-1]
        self.num_keys = self.batch_stride * self.num_batches
        if self.num_keys >= MAX_KEY:
            raise ValueError(
                f"grid of {self.dims} cells x {self.num_batches} graphs overflows int64 keys; "
                "use a larger cell size (radius / voxel size) or fewer graphs per batch"
            )
        self.strides = torch.tensor(strides[:-1], dtype=torch.int64, device=self.device)
        self.keys = self.encode(coords, batch)
        self.sorted_keys, self.perm = sort_stable(self.keys)
        # dense prefix counts when the grid is small next to the points: O(1) look-ups
        self._prefix = None
        if self.num_keys <= DENSE_CELLS_PER_POINT * n + (1 << 20):
            self._prefix = _prefix_counts(self.sorted_keys, self.num_keys)

    def encode(self, coords: Tensor, batch: Tensor) -> Tensor:
        """Keys of cells (coordinates must be inside the grid)."""
        return (coords * self.strides).sum(-1) + batch * self.batch_stride

    def count_below(self, keys: Tensor) -> Tensor:
        """Number of points whose key is smaller than each of ``keys`` (<= num_keys)."""
        if self._prefix is not None:
            return take(self._prefix, keys.reshape(-1)).view(keys.shape).to(torch.int64)
        return torch.searchsorted(self.sorted_keys, keys)

    def ranges(self, coords: Tensor, batch: Tensor, segments: "NeighbourSegments") -> tuple[Tensor, Tensor]:
        """Slices of the sorted points that cover a neighbourhood of each query cell.

        Args:
            coords: query cell coordinates (may lie outside the grid).
            batch: graph id of each query.
            segments: the neighbourhood, as runs of cells along axis 0.

        Returns:
            ``(starts, lengths)`` into the sorted order, one column per segment.

        Shapes:
            coords: (Q, D), batch: (Q,) -> (Q, S), (Q, S)
        """
        dims = torch.tensor(self.dims, dtype=torch.int64, device=self.device)
        rows = coords[:, None, 1:] + segments.rows.to(self.device)[None]  # (Q, S, D-1)
        x = coords[:, None, 0]
        lo = (x + segments.lo.to(self.device)[None]).clamp_min(0)
        hi = torch.minimum(x + segments.hi.to(self.device)[None], dims[0] - 1)
        valid = (lo <= hi) & (batch[:, None] < self.num_batches)
        if rows.shape[-1]:
            valid &= ((rows >= 0) & (rows < dims[1:])).all(-1)
        base = (rows * self.strides[1:]).sum(-1) + batch[:, None] * self.batch_stride
        base = torch.where(valid, base, 0)
        start = self.count_below(base + torch.where(valid, lo, 0))
        end = self.count_below(base + torch.where(valid, hi + 1, 0))
        return start, torch.where(valid, end - start, 0)


@functools.lru_cache(maxsize=64)
def neighbour_segments(dim: int, outer: int, inner: int = -1) -> "NeighbourSegments":
    """Cached :class:`NeighbourSegments` (they only depend on the three numbers)."""
    return NeighbourSegments(dim, outer, inner)


class NeighbourSegments:
    """A neighbourhood of cells as runs along axis 0: offsets of the other axes plus an
    axis-0 interval, for the cells at Chebyshev distance ``inner < dist <= outer``.

    Shapes:
        rows: (S, D-1) offsets along axes 1.., lo/hi: (S,) axis-0 offsets (inclusive)
    """

    def __init__(self, dim: int, outer: int, inner: int = -1):
        rows, lo, hi = [], [], []
        if dim < 1:
            raise ValueError(f"points need at least one coordinate, got dim={dim}")
        if dim == 1:
            others = np.zeros((1, 0), dtype=np.int64)
        else:
            rng = np.arange(-outer, outer + 1)
            others = np.stack(np.meshgrid(*([rng] * (dim - 1)), indexing="ij"), -1).reshape(-1, dim - 1)
        for off in others:
            cheb = int(np.abs(off).max()) if off.size else 0
            if cheb > inner:
                rows.append(off), lo.append(-outer), hi.append(outer)
            else:  # the middle of this row is already covered: two end runs
                rows += [off, off]
                lo += [-outer, inner + 1]
                hi += [-inner - 1, outer]
        self.rows = torch.as_tensor(np.array(rows, dtype=np.int64).reshape(len(rows), dim - 1))
        self.lo = torch.as_tensor(np.array(lo, dtype=np.int64))
        self.hi = torch.as_tensor(np.array(hi, dtype=np.int64))

    @classmethod
    def forward_half(cls, dim: int) -> "NeighbourSegments":
        """The cells after a cell in key order among its 3^D neighbours, plus the cell
        itself: run 0 is the own row ``[x, x + 1]``, then every row whose most
        significant non-zero offset is positive, full ``[x - 1, x + 1]``. Each unordered
        pair of neighbouring cells is covered exactly once (own cell: by position)."""
        self = cls.__new__(cls)
        rows, lo, hi = [np.zeros(dim - 1, np.int64)], [0], [1]
        if dim > 1:
            rng = np.arange(-1, 2)
            others = np.stack(np.meshgrid(*([rng] * (dim - 1)), indexing="ij"), -1).reshape(-1, dim - 1)
            for off in others:
                nz = np.flatnonzero(off)
                if nz.size and off[nz[-1]] > 0:
                    rows.append(off), lo.append(-1), hi.append(1)
        self.rows = torch.as_tensor(np.array(rows, dtype=np.int64).reshape(len(rows), dim - 1))
        self.lo = torch.as_tensor(np.array(lo, dtype=np.int64))
        self.hi = torch.as_tensor(np.array(hi, dtype=np.int64))
        return self

    def __len__(self) -> int:
        return len(self.lo)


def cell_coords(pos: Tensor, origin: Tensor, cell_size: Tensor) -> Tensor:
    """Integer cell coordinates ``floor((pos - origin) / cell_size)`` computed in float64.

    Shapes:
        pos: (N, D), origin: (D,), cell_size: (D,) -> (N, D) int64
    """
    return torch.floor((pos.to(torch.float64) - origin) / cell_size).to(torch.int64)
