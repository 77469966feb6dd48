"""Per-node class prediction that starts from the labels shown in the neighbourhood.

Some nodes show their class (e.g. a body-part label), the rest must be predicted. The head
propagates the shown labels along the given edges (the level-0 graph's, or edges from each
hidden node's nearest shown nodes as masked part refill builds them) with attention weights
``softmax_j(-||s * (pos_i - pos_j)|| / tau)`` over the shown neighbours ``j`` of ``i``
(``s`` a learned per-axis scale, ``tau`` a learned temperature), then predicts

    logits_i = log(prop_i + eps) + MLP([h_i, prop_i, has_shown_neighbour_i])

with ``h_i`` the backbone features. The MLP's last layer starts at zero and ``tau`` small,
so the untrained head copies the label of the nearest shown neighbour (among the node's
incoming edges); training teaches it where the neighbourhood is wrong, which is what the
backbone features must tell.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch_geometric.utils import softmax
from torch_scatter import scatter_add

from ..layers.mlp import mlp


class LabelPropagationHead(nn.Module):
    """Shown labels propagated over graph edges, corrected from node features.

    Args:
        in_channels: C, backbone feature width.
        num_classes: L.
        hidden: hidden width of the correction MLP.
        tau: initial temperature of the distance attention (pos units; small: nearest only).
        eps: floor added to the propagated distribution before the log.

    Shapes:
        h: (N, C); labels: (N, L) one-hot (rows of hidden nodes are ignored); shown: (N,) bool;
        pos: (N, D); edge_index: (2, E), row 0 the neighbour j, row 1 the node i -> (N, L) logits
    """

    def __init__(self, in_channels: int, num_classes: int, hidden: int = 64, tau: float = 0.1, eps: float = 1e-2):
        super().__init__()
        if tau <= 0 or eps <= 0:
            raise ValueError(f"tau and eps must be positive, got tau={tau}, eps={eps}")
        self.num_classes, self.eps = int(num_classes), float(eps)
        self.log_tau = nn.Parameter(torch.tensor(math.log(tau)))
        self.log_axis_scale = nn.Parameter(torch.zeros(3))
        self.correct = mlp([in_channels + num_classes + 1, hidden, num_classes])
        nn.init.zeros_(self.correct[-1].weight)
        nn.init.zeros_(self.correct[-1].bias)

    def propagate(self, labels: Tensor, shown: Tensor, pos: Tensor, edge_index: Tensor) -> tuple[Tensor, Tensor]:
        """The attention-weighted shown labels of each node's neighbours and whether it has any.

        Shapes:
            -> (N, L) rows summing to 1 (0 without shown neighbours), (N,) bool
        """
        n = pos.shape[0]
        src, dst = edge_index[0], edge_index[1]
        keep = shown[src] & (src != dst)
        src, dst = src[keep], dst[keep]
        scale = self.log_axis_scale.exp()[: pos.shape[1]]
        dist = ((pos[dst] - pos[src]) * scale).norm(dim=1)
        alpha = softmax(-dist / self.log_tau.exp(), dst, num_nodes=n)  # over each node's shown neighbours
        prop = scatter_add(alpha.unsqueeze(1) * labels[src].to(alpha.dtype), dst, dim=0, dim_size=n)
        has = torch.zeros(n, dtype=torch.bool, device=pos.device)
        has[dst] = True
        return prop, has

    def forward(self, h: Tensor, labels: Tensor, shown: Tensor, pos: Tensor, edge_index: Tensor) -> Tensor:
        prop, has = self.propagate(labels, shown, pos, edge_index)
        prior = torch.log(prop + self.eps)
        return prior + self.correct(torch.cat([h, prop, has.to(h.dtype).unsqueeze(1)], dim=1))
