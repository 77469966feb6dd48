"""Tensor primitives of the graph kernels: sorting integer keys, cumulative sums, ragged
range expansion, per-segment ranking. The sorts and runs are the TORE code's
(:mod:`evpose.representations.events`), one implementation for both.

Plain torch (CPU and CUDA). On CPU the operations that torch runs slowly there go
through numpy on the same memory (see ``evpose.representations.events.NUMPY_ON_CPU``);
the results are identical.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ..representations.events import on_numpy, run_starts, sort_stable, sort_values  # noqa: F401  (sort_*: re-exported)


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


def rank_in_runs(sorted_keys: Tensor) -> Tensor:
    """Position of every entry of a sorted array inside its run of equal keys (0, 1, ...).

    Shapes:
        sorted_keys: (N,) -> (N,) int64
    """
    return torch.arange(sorted_keys.numel(), device=sorted_keys.device) - run_starts(sorted_keys)


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
