"""Heads for pretext tasks: per-node outputs and outputs at query points off the graph."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ...graph import knn
from ..layers import mlp
from ..scatter import scatter_max_rows, scatter_mean_rows


class NodeHead(nn.Module):
    """Per-node outputs from the last stage's node features.

    Args:
        in_channels: C.
        out_channels: outputs per node.
        hidden: hidden width (0: a single linear layer).

    Shapes:
        h: (N, C) -> (N, out_channels)
    """

    def __init__(self, in_channels: int, out_channels: int, hidden: int = 0):
        super().__init__()
        self.net = nn.Linear(in_channels, out_channels) if hidden <= 0 else mlp([in_channels, hidden, out_channels])

    def forward(self, h: Tensor) -> Tensor:
        return self.net(h)


class QueryDecoder(nn.Module):
    """Outputs at arbitrary query points (e.g. the cells of a hole in the event cloud):
    each query gathers its ``k`` nearest graph nodes of the same window, encodes
    ``[h_j, (pos_j - q) / scale]`` with an MLP and max-pools them, adds the window's pooled
    features (global context) and decodes with an MLP.

    Args:
        in_channels: C, node feature width.
        out_channels: outputs per query.
        k: neighbours per query.
        scale: length (pos units) that relative offsets are divided by.
        hidden: hidden width (default C).
        query_features: width of per-query input features (e.g. what the visible events say
            about the query's cell), joined to the context (default 0: none).

    Shapes:
        h: (N, C), pos: (N, 3), batch: (N,), query: (Q, 3), query_batch: (Q,), num_graphs: B
        -> (Q, out_channels)
    """

    def __init__(self, in_channels: int, out_channels: int, k: int = 16, scale: float = 8.0, hidden: int | None = None,
                 query_features: int = 0):
        super().__init__()
        hidden = hidden or in_channels
        self.k, self.scale, self.query_features = int(k), float(scale), int(query_features)
        self.local = mlp([in_channels + 3, hidden, hidden], act_last=True)
        self.context = nn.Linear(2 * in_channels + self.query_features, hidden)
        self.out = mlp([2 * hidden, hidden, out_channels])

    def forward(self, h: Tensor, pos: Tensor, batch: Tensor, query: Tensor, query_batch: Tensor, num_graphs: int,
                neighbours: Tensor | None = None, query_feat: Tensor | None = None) -> Tensor:
        """Args: ``neighbours``: precomputed ``knn(pos, query, k)`` edges (row 0 query, row 1
        node), e.g. shared by two heads on the same queries (default: computed here);
        ``query_feat``: (Q, query_features) per-query inputs."""
        Q = query.shape[0]
        if Q == 0:
            return h.new_zeros(0, self.out[-1].out_features)
        if h.shape[0] == 0:
            local = h.new_zeros(Q, self.local[-2].out_features)
        else:
            if neighbours is None:
                neighbours = knn(pos, query, self.k, batch_x=batch, batch_y=query_batch)
            iq, ix = neighbours[0], neighbours[1]
            rel = (pos.index_select(0, ix) - query.index_select(0, iq)) / self.scale
            enc = self.local(torch.cat([h.index_select(0, ix), rel], dim=-1))
            local = scatter_max_rows(enc, iq, Q, empty=0.0)  # queries of an empty window get 0
        pooled = torch.cat([scatter_max_rows(h, batch, num_graphs), scatter_mean_rows(h, batch, num_graphs)], dim=-1)
        ctx_in = pooled.index_select(0, query_batch)
        if self.query_features:
            if query_feat is None or query_feat.shape != (Q, self.query_features):
                raise ValueError(f"the decoder takes {self.query_features} features per query, got "
                                 f"{None if query_feat is None else tuple(query_feat.shape)}")
            ctx_in = torch.cat([ctx_in, query_feat.to(ctx_in.dtype)], dim=1)
        ctx = torch.relu(self.context(ctx_in))
        return self.out(torch.cat([local, ctx], dim=-1))
