"""Spatial hashing on a regular grid: the machinery under radius, knn and voxel ops.

Points are binned into the cells of a regular grid whose int64 key also encodes the
batch (graph) id, most significant first, so points of different graphs never share a
cell and are never compared. Sorting points by key puts every cell (and every run of
cells along the first axis) in one contiguous slice of the sorted order; a
neighbourhood query is then a handful of key ranges per query cell, expanded into
candidate pairs (:func:`~evpose.graph.ops.expand_ranges`) without any per-point loop.
"""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from ..representations.events import on_numpy
from .ops import nonzero, sort_stable, take

#: Largest key (exclusive) a grid may use; leaves room for the +1 of range ends.
MAX_KEY = 1 << 62


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
    via_numpy = on_numpy(pos) and pos.dtype in (torch.float32, torch.float64)  # fewer microseconds a call
    if pos.numel() and not (bool(np.isfinite(pos.detach().numpy()).all()) if via_numpy else bool(torch.isfinite(pos).all())):
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
        # (made at the first look-up: voxel clustering needs only the sorted keys)
        self._dense = self.num_keys <= DENSE_CELLS_PER_POINT * n + (1 << 20)
        self._prefix = None

    def encode(self, coords: Tensor, batch: Tensor) -> Tensor:
        """Keys of cells (coordinates must be inside the grid)."""
        return (coords * self.strides).sum(-1) + batch * self.batch_stride

    def count_below(self, keys: Tensor) -> Tensor:
        """Number of points whose key is smaller than each of ``keys`` (<= num_keys)."""
        if self._dense and self._prefix is None:
            self._prefix = _prefix_counts(self.sorted_keys, self.num_keys)
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
