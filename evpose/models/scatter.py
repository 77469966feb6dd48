"""Fast segment reductions for graph layers.

torch's native ``scatter_reduce_`` ("amax") is several times faster on CPU than
torch_scatter's ``scatter_max`` (which also computes argmax) for the row counts of event
graphs (measured in bench/model.py's notes), and it runs on CUDA too.
"""

from __future__ import annotations

import torch
from torch import Tensor


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
