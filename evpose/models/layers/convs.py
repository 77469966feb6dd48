"""PyG graph convolutions that use relative positions, behind one calling convention.

Every layer here is built as ``Layer(in_channels, out_channels, **options)`` and called as
``layer(x, pos, edge_index, edge_attr)``, so the hourglass can take any of them from a Hydra
``_target_`` (with ``_partial_: true``) without knowing which it is. ``pos`` is given in units
of the current level's radius (so relative offsets are about unit size at every level);
``edge_index`` follows PyG (row 0 = neighbour j, row 1 = centre i); ``edge_attr`` =
``pos_j - pos_i`` in the same units. A layer's ``needs_edge_attr`` says whether it reads
``edge_attr`` (the hourglass passes None to layers that do not, and skips computing it).

Shapes (all layers):
    x: (N, C_in), pos: (N, 3), edge_index: (2, E), edge_attr: (E, 3) -> (N, C_out)
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch_geometric.nn import EdgeConv, GATv2Conv, PointNetConv, PointTransformerConv
from torch_scatter import segment_csr

from ..scatter import centre_groups, neighbour_max
from .mlp import mlp


class PointConvLayer(nn.Module):
    """A fast PointNet layer with max and distance-weighted mean aggregation, the default:
    ``x_i' = W_out [ReLU(max_j m_ij), ReLU(sum_j w_ij m_ij / sum_j w_ij)] + W_self x_i`` with
    the message ``m_ij = W_x x_j + W_p (p_j - p_i) + b`` and ``w_ij = exp(-|p_j - p_i|^2 / 2 s^2)``
    (``s`` learned, starting at half the radius).

    The max branch is exactly PyG's ``PointNetConv`` with ``local_nn = Linear + ReLU`` and
    ``global_nn = Linear`` (checked in the tests), computed in a cheaper order: with
    ``a_j = W_x x_j + W_p p_j + b`` (once per node), ``m_ij = a_j - W_p p_i`` and, ReLU and
    the subtraction being monotonic, ``max_j ReLU(m_ij) = ReLU(max_j a_j - W_p p_i)``; the
    mean branch is ``ReLU(sum_j w_ij a_j / sum_j w_ij - W_p p_i)``. An edge costs a gathered
    row, a max and a weighted sum, no matrix product; the reductions run over the edges
    grouped by centre (CSR segments, sorted first when the edges are not). The max finds the strongest feature
    around a node; the weighted mean counts, nearer neighbours first (e.g. a vote of the
    neighbours' part labels), which a max cannot.
    A node without neighbours aggregates 0 and keeps its self term.

    Args:
        in_channels, out_channels: feature widths.
        hidden: width of the aggregated messages (default ``out_channels``).
        aggr: aggregations, a non-empty subset of ``("max", "mean")`` (default max only, as
            conf/conv/point_conv.yaml: as accurate for the pose and faster; add mean for counting).
    """

    AGGREGATIONS = ("max", "mean")

    needs_edge_attr = False

    def __init__(self, in_channels: int, out_channels: int, hidden: int | None = None,
                 aggr: tuple[str, ...] | list[str] = ("max",)):
        super().__init__()
        aggr = tuple(aggr)
        if not aggr or any(a not in self.AGGREGATIONS for a in aggr) or len(set(aggr)) != len(aggr):
            raise ValueError(f"aggr must be a non-empty subset of {self.AGGREGATIONS}, got {aggr}")
        hidden = hidden or out_channels
        self.aggr = aggr
        self.lin_x = nn.Linear(in_channels, hidden)
        self.lin_pos = nn.Linear(3, hidden, bias=False)
        self.lin_out = nn.Linear(hidden * len(aggr), out_channels)
        self.self_term = nn.Linear(in_channels, out_channels, bias=False)
        # bandwidth of the mean's distance weights, in units of the graph radius (softplus);
        # only the mean uses it: without it, no parameter that gets no gradient (which
        # DistributedDataParallel refuses)
        if "mean" in aggr:
            self.log_bandwidth = nn.Parameter(torch.tensor(math.log(math.expm1(0.5))))

    @property
    def bandwidth(self) -> torch.Tensor:
        return nn.functional.softplus(self.log_bandwidth) + 1e-3

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        # checkpoints written before the bandwidth existed only with the mean hold it for
        # max-only layers too: drop it (it never took part in the output)
        if "mean" not in self.aggr:
            state_dict.pop(prefix + "log_bandwidth", None)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def forward(self, x, pos, edge_index, edge_attr=None):
        # edges grouped by centre (evpose's radius graphs already are), once per graph: CSR
        # segment reductions, several times faster than scattering on the CPU
        groups = centre_groups(edge_index, x.shape[0])
        src, dst, ptr, has = groups.src, groups.dst, groups.ptr, groups.has
        ppos = self.lin_pos(pos)
        a = self.lin_x(x) + ppos  # (N, H)
        parts = []
        for kind in self.aggr:
            if kind == "max":
                agg = neighbour_max(a, groups)
            else:
                gathered = a.index_select(0, src)  # (E, H)
                d2 = (pos.index_select(0, src) - pos.index_select(0, dst)).pow(2).sum(-1, keepdim=True)
                w = torch.exp(-d2 / (2 * self.bandwidth**2))  # (E, 1)
                total = segment_csr(w, ptr, reduce="sum").clamp_min(1e-12)
                agg = segment_csr(gathered * w, ptr, reduce="sum") / total
            act = torch.relu(agg - ppos)
            parts.append(torch.where(has, act, torch.zeros_like(act)) if groups.any_empty else act)
        return self.lin_out(torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]) + self.self_term(x)


class PointNetLayer(nn.Module):
    """PointNet++ set abstraction on the graph (PyG ``PointNetConv``):
    ``max_j MLP([x_j, pos_j - pos_i])``, plus a linear self term so isolated nodes keep
    their features. Cheap and strong on point clouds; the default.

    Args:
        in_channels, out_channels: feature widths.
        hidden: width of the message MLP's hidden layer (default ``out_channels``).
    """

    needs_edge_attr = False

    def __init__(self, in_channels: int, out_channels: int, hidden: int | None = None):
        super().__init__()
        hidden = hidden or out_channels
        self.conv = PointNetConv(local_nn=mlp([in_channels + 3, hidden, out_channels]), add_self_loops=False)
        self.self_term = nn.Linear(in_channels, out_channels)

    def forward(self, x, pos, edge_index, edge_attr=None):
        return self.conv(x, pos, edge_index) + self.self_term(x)


class EdgeConvLayer(nn.Module):
    """DGCNN's EdgeConv (PyG ``EdgeConv``) on features concatenated with positions:
    ``max_j MLP([h_i, h_j - h_i])`` with ``h = [x, pos]``, so ``h_j - h_i`` holds the offset.

    Args:
        in_channels, out_channels: feature widths.
        hidden: hidden width of the edge MLP (default ``out_channels``).
    """

    needs_edge_attr = False

    def __init__(self, in_channels: int, out_channels: int, hidden: int | None = None):
        super().__init__()
        hidden = hidden or out_channels
        self.conv = EdgeConv(mlp([2 * (in_channels + 3), hidden, out_channels]), aggr="max")
        self.self_term = nn.Linear(in_channels, out_channels)

    def forward(self, x, pos, edge_index, edge_attr=None):
        out = self.conv(torch.cat([x, pos], dim=-1), edge_index)
        return out + self.self_term(x)


class GATv2Layer(nn.Module):
    """GATv2 attention (PyG ``GATv2Conv``) with the relative offset as edge feature.

    Args:
        in_channels, out_channels: feature widths (``out_channels`` divisible by ``heads``).
        heads: attention heads, concatenated.
    """

    needs_edge_attr = True

    def __init__(self, in_channels: int, out_channels: int, heads: int = 4):
        super().__init__()
        if out_channels % heads:
            raise ValueError(f"out_channels {out_channels} is not divisible by heads {heads}")
        self.conv = GATv2Conv(in_channels, out_channels // heads, heads=heads, edge_dim=3, add_self_loops=True,
                              fill_value=0.0)

    def forward(self, x, pos, edge_index, edge_attr):
        return self.conv(x, edge_index, edge_attr)


class PointTransformerLayer(nn.Module):
    """Point Transformer attention (PyG ``PointTransformerConv``) with learned positional
    encoding of ``pos_i - pos_j``; the strongest published point-cloud model on DHP19.

    Args:
        in_channels, out_channels: feature widths.
    """

    needs_edge_attr = False

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = PointTransformerConv(
            in_channels,
            out_channels,
            pos_nn=mlp([3, out_channels, out_channels]),
            attn_nn=mlp([out_channels, out_channels]),
            add_self_loops=True,
        )

    def forward(self, x, pos, edge_index, edge_attr=None):
        return self.conv(x, pos, edge_index)
