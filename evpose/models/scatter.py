"""Fast segment reductions for graph layers.

torch's native ``scatter_reduce_`` ("amax") is several times faster on CPU than
torch_scatter's ``scatter_max`` (which also computes argmax) for the row counts of event
graphs (measured in bench/model.py's notes), and it runs on CUDA too.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch_scatter import segment_csr


def scatter_max_rows(src: Tensor, index: Tensor, num_rows: int, empty: float = 0.0) -> Tensor:
    """Row-wise max of ``src`` grouped by ``index``; rows that receive nothing get ``empty``.

    Shapes:
        src: (E, C), index: (E,) -> (num_rows, C)
    """
    out = src.new_full((num_rows, src.shape[1]), float("-inf"))
    out = out.scatter_reduce(0, index[:, None].expand_as(src), src, reduce="amax", include_self=True)
    if empty != float("-inf"):
        out = torch.where(torch.isneginf(out), torch.full_like(out, empty), out)
    return out


def scatter_mean_rows(src: Tensor, index: Tensor, num_rows: int) -> Tensor:
    """Row-wise mean grouped by ``index`` (0 for empty rows). Shapes: (E, C), (E,) -> (num_rows, C)"""
    total = src.new_zeros((num_rows, src.shape[1])).index_add_(0, index, src)
    count = torch.bincount(index, minlength=num_rows).clamp_min(1).to(src.dtype)
    return total / count[:, None]


def neighbour_table(src: Tensor, ptr: Tensor) -> Tensor:
    """The neighbours of every centre as one padded row each (pad: ``num_rows``, the index of
    an extra row), for edges grouped by centre in CSR form.

    Shapes:
        src: (E,) neighbour of every edge, ptr: (N + 1,) -> (N, max degree) int64
    """
    n = ptr.numel() - 1
    counts = ptr[1:] - ptr[:-1]
    width = int(counts.max()) if n else 0
    table = torch.full((n, width), n, dtype=torch.int64, device=src.device)
    if src.numel():
        centre = torch.repeat_interleave(torch.arange(n, device=src.device), counts, output_size=src.numel())
        slot = torch.arange(src.numel(), device=src.device) - ptr[:-1].index_select(0, centre)
        table[centre, slot] = src
    return table


def neighbour_max(a: Tensor, src: Tensor, ptr: Tensor) -> Tensor:
    """``out[i] = max_j a[j]`` over the neighbours ``j`` of centre ``i`` (edges grouped by
    centre in CSR form), 0 where a centre has none: torch_scatter's ``segment_csr(a[src],
    ptr, "max")``.

    Without autograd (inference) the neighbours are gathered into a padded table
    (:func:`neighbour_table`) and reduced by a dense ``amax``: about 4x faster on the CPU for
    event graphs (bench/model.py) and the same values (a max is exact). Where a gradient is
    needed, torch_scatter's segment reduction runs: its backward (to one row per maximum) is
    several times faster than a dense one.

    Shapes:
        a: (N, C), src: (E,), ptr: (N + 1,) -> (N, C)
    """
    if a.requires_grad and torch.is_grad_enabled():
        return segment_csr(a.index_select(0, src), ptr, reduce="max")
    table = neighbour_table(src, ptr)
    n, width = table.shape
    if width == 0:
        return a.new_zeros((n, a.shape[1]))
    padded = torch.cat([a, a.new_full((1, a.shape[1]), float("-inf"))])
    out = padded.index_select(0, table.reshape(-1)).view(n, width, a.shape[1]).amax(dim=1)
    if bool((ptr[1:] == ptr[:-1]).any()):
        out = torch.where(torch.isneginf(out), torch.zeros_like(out), out)
    return out
