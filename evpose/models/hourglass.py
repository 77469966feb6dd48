"""The graph hourglass: bottom-up through voxel-pooled levels, top-down with skips."""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import Tensor, nn

from .layers import GraphConvBlock, PointConvLayer
from .pyramid import GraphLevel
from .scatter import scatter_max_rows, scatter_mean_rows


class GraphHourglass(nn.Module):
    """An hourglass on a graph pyramid, like the Stacked Hourglass network on images.

    Going down, level l runs ``blocks`` residual graph-conv blocks, then its nodes are
    max-pooled into the voxels of level l+1 (positions averaged; the pyramid is built
    once by :func:`~evpose.models.pyramid.build_pyramid` and shared by all stages).
    Going up, level l+1's features are unpooled to level l by cluster index, concatenated
    with level l's skip features, merged by a linear map, and refined by ``blocks`` more
    blocks. Input and output widths are both ``channels[0]``.

    Args:
        channels: feature width per level, L values (e.g. ``[32, 64, 96]``).
        conv: factory ``conv(in_channels, out_channels)`` of a graph layer with the evpose
            convention (see :mod:`evpose.models.layers.convs`), e.g. a Hydra ``_partial_``
            of :class:`~evpose.models.layers.PointConvLayer` (the default).
        blocks: residual blocks per level and direction (default 1).
        norm: normalisation factory for the blocks (default LayerNorm).
        global_context: at the coarsest level, add to every node a linear map of its graph's
            max- and mean-pooled features, so every node sees the whole window (default True).

    Shapes:
        x: (N_0, channels[0]), levels: L GraphLevels -> (N_0, channels[0])
    """

    def __init__(
        self,
        channels: Sequence[int],
        conv: Callable[[int, int], nn.Module] = PointConvLayer,
        blocks: int = 1,
        norm: Callable[[int], nn.Module] | None = nn.LayerNorm,
        global_context: bool = True,
    ):
        super().__init__()
        channels = [int(c) for c in channels]
        if not channels or any(c <= 0 for c in channels):
            raise ValueError(f"channels must be positive widths, got {channels}")
        if blocks < 1:
            raise ValueError(f"blocks must be >= 1, got {blocks}")
        self.channels = channels
        L = len(channels)

        def stack(c_in: int, c_out: int) -> nn.ModuleList:
            return nn.ModuleList(
                GraphConvBlock(conv(c_in if i == 0 else c_out, c_out), c_in if i == 0 else c_out, c_out, norm)
                for i in range(blocks)
            )

        # down[l] maps the (pooled) input of level l, width channels[l-1] (or channels[0]), to channels[l]
        self.down = nn.ModuleList(stack(channels[max(l - 1, 0)], channels[l]) for l in range(L))
        self.merge = nn.ModuleList(nn.Linear(channels[l] + channels[l + 1], channels[l]) for l in range(L - 1))
        self.up = nn.ModuleList(stack(channels[l], channels[l]) for l in range(L - 1))
        self.context = nn.Linear(2 * channels[-1], channels[-1]) if global_context else None

    @property
    def needs_edge_attr(self) -> bool:
        """Whether a layer reads the edge offsets (layers that do not say are assumed to)."""
        return any(getattr(b.conv, "needs_edge_attr", True) for stack in (*self.down, *self.up) for b in stack)

    @property
    def num_levels(self) -> int:
        return len(self.channels)

    @staticmethod
    def _run(blocks: nn.ModuleList, x: Tensor, level: GraphLevel, pos: Tensor, edge_attr: Tensor) -> Tensor:
        for block in blocks:
            x = block(x, pos, level.edge_index, edge_attr)
        return x

    def forward(self, x: Tensor, levels: Sequence[GraphLevel]) -> Tensor:
        if len(levels) < self.num_levels:
            raise ValueError(f"the hourglass has {self.num_levels} levels but the pyramid {len(levels)}")
        edge_attr = self.needs_edge_attr
        geo = [(lv.scaled_pos, lv.edge_attr if edge_attr else None) for lv in levels[: self.num_levels]]
        skips = []
        h = x
        for l in range(self.num_levels):
            if l > 0:  # max-pool the previous level's features into this level's voxels
                h = scatter_max_rows(h, levels[l].cluster, levels[l].num_nodes)
            h = self._run(self.down[l], h, levels[l], *geo[l])
            skips.append(h)
        if self.context is not None:
            top = levels[self.num_levels - 1]
            B = int(top.batch.max()) + 1 if top.num_nodes else 0
            pooled = torch.cat([scatter_max_rows(h, top.batch, B), scatter_mean_rows(h, top.batch, B)], dim=-1)
            h = h + torch.relu(self.context(pooled)).index_select(0, top.batch)
        for l in range(self.num_levels - 2, -1, -1):
            up = h.index_select(0, levels[l + 1].cluster)  # unpool by cluster index
            h = torch.relu(self.merge[l](torch.cat([skips[l], up], dim=-1)))
            h = self._run(self.up[l], h, levels[l], *geo[l])
        return h
