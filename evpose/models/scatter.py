"""Fast segment reductions for graph layers.

torch's native ``scatter_reduce_`` ("amax") is several times faster on CPU than
torch_scatter's ``scatter_max`` (which also computes argmax) for the row counts of event
graphs (measured in bench/model.py's notes), and it runs on CUDA too.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def neighbour_table(src: Tensor, dst: Tensor, ptr: Tensor) -> Tensor:
    """The neighbours of every centre as one padded row each (pad: ``num_rows``, the index of
    an extra row), for edges grouped by centre in CSR form.

    Shapes:
        src, dst: (E,) neighbour and centre of every edge (grouped by centre), ptr: (N + 1,)
        -> (N, max degree) int64
    """
    n = ptr.numel() - 1
    width = int((ptr[1:] - ptr[:-1]).max()) if n else 0
    table = torch.full((n, width), n, dtype=torch.int64, device=src.device)
    if src.numel():
        slot = torch.arange(src.numel(), device=src.device) - ptr.index_select(0, dst)
        table.view(-1).index_copy_(0, dst * width + slot, src)
    return table


@dataclass
class CentreGroups:
    """A graph's edges grouped by centre (CSR), what the point convolutions reduce over.

    Shapes:
        src, dst: (E,) neighbour and centre of every edge, sorted by centre; ptr: (N + 1,);
        has: (N, 1) True where a centre has a neighbour
    """

    src: Tensor
    dst: Tensor
    ptr: Tensor
    has: Tensor
    any_empty: bool
    _table: Tensor | None = None

    @property
    def table(self) -> Tensor:
        """:func:`neighbour_table` of the graph (built once)."""
        if self._table is None:
            self._table = neighbour_table(self.src, self.dst, self.ptr)
        return self._table


def centre_groups(edge_index: Tensor, num_nodes: int) -> CentreGroups:
    """The :class:`CentreGroups` of ``edge_index`` (row 1 the centre), sorted by centre if it
    is not already (stably). Kept on the tensor while it is unchanged (its ``_version``), so
    the layers of one pyramid level share one.

    Shapes:
        edge_index: (2, E) -> CentreGroups
    """
    cached = getattr(edge_index, "_evpose_groups", None)
    if cached is not None and cached[0] == (edge_index._version, int(num_nodes)):
        return cached[1]
    src, dst = edge_index[0], edge_index[1]
    if dst.numel() > 1 and bool((dst[1:] < dst[:-1]).any()):  # not grouped by centre: sort once
        order = torch.argsort(dst, stable=True)
        src, dst = src.index_select(0, order), dst.index_select(0, order)
    else:
        # copies, not views: the groups are kept on edge_index, and a view references its base
        # (in C++, out of the garbage collector's sight): the cycle would keep every batch's
        # edges allocated for good
        src, dst = src.clone(), dst.clone()
    ptr = torch.zeros(num_nodes + 1, dtype=torch.long, device=edge_index.device)
    torch.cumsum(torch.bincount(dst, minlength=num_nodes), 0, out=ptr[1:])
    has = ptr[1:] > ptr[:-1]
    groups = CentreGroups(src, dst, ptr, has[:, None], bool(num_nodes) and not bool(has.all()))
    edge_index._evpose_groups = ((edge_index._version, int(num_nodes)), groups)
    return groups


def neighbour_max(a: Tensor, groups: CentreGroups) -> Tensor:
    """``out[i] = max_j a[j]`` over the neighbours ``j`` of centre ``i``, 0 where a centre has
    none: torch_scatter's ``segment_csr(a[src], ptr, "max")``.

    Without autograd (inference) the neighbours are gathered into a padded table
    (:func:`neighbour_table`) and reduced by a dense ``amax``: about 4x faster on the CPU for
    event graphs (bench/model.py) and the same values (a max is exact). Where a gradient is
    needed, torch_scatter's segment reduction runs: its backward (to one row per maximum) is
    several times faster than a dense one.

    Shapes:
        a: (N, C), groups of N centres -> (N, C)
    """
    if a.requires_grad and torch.is_grad_enabled():
        return segment_csr(a.index_select(0, groups.src), groups.ptr, reduce="max")
    table = groups.table
    n, width = table.shape
    if width == 0:
        return a.new_zeros((n, a.shape[1]))
    padded = torch.cat([a, a.new_full((1, a.shape[1]), float("-inf"))])
    out = padded.index_select(0, table.reshape(-1)).view(n, width, a.shape[1]).amax(dim=1)
    if groups.any_empty:
        out = torch.where(groups.has, out, torch.zeros_like(out))
    return out
