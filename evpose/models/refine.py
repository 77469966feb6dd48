"""Stacked hourglass stages with intermediate predictions fed back (the backbone)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

from .hourglass import GraphHourglass
from .pyramid import GraphLevel, build_pyramid


@dataclass
class BackboneOutput:
    """What the backbone hands to the heads.

    Shapes:
        features: S tensors (N, C), the node features after each stage
        maps: S tensors (N, M), each stage's per-node prediction maps (the joint logits
            of the 2D head when M = K)
        levels: the graph pyramid (level 0 = the input nodes)
        batch: (N,) graph id of every node; num_graphs: B
    """

    features: list[Tensor]
    maps: list[Tensor]
    levels: list[GraphLevel]
    batch: Tensor
    num_graphs: int
    cache: dict = field(default_factory=dict)

    @property
    def pos(self) -> Tensor:
        return self.levels[0].pos

    def query_neighbours(self, query: Tensor, query_batch: Tensor, k: int, key: str) -> Tensor:
        """``knn(pos, query, k)`` edges of the level-0 nodes (row 0 query, row 1 node),
        computed once per ``(key, k)`` so heads on the same query points share them."""
        from ..graph import knn

        ck = (key, int(k))
        if ck not in self.cache:
            self.cache[ck] = knn(self.pos, query, int(k), batch_x=self.batch, batch_y=query_batch)
        return self.cache[ck]


class RefinementStack(nn.Module):
    """S hourglass stages; stage s+1 refines stage s.

    The node features are lifted to ``channels`` by a linear stem. Each stage runs an
    hourglass; a linear layer turns its output into per-node prediction maps (M channels:
    the joint logits that the 2D head turns into joints, so every stage is supervised);
    the next stage's input is the stage's features plus the maps projected back into
    feature space (a residual re-injection, as in the Stacked Hourglass network).

    Args:
        in_channels: node input features F (1 + 2 * TORE depth).
        hourglass: factory ``hourglass()`` returning a :class:`GraphHourglass` (called once
            per stage; a Hydra ``_partial_``).
        num_stages: S >= 1.
        num_maps: M, per-node prediction channels (default 13, DHP19's joints).
        radii: graph radius per pyramid level (level 0 should equal the data's graph radius).
        voxel_sizes: voxel edge making each coarser level (len(radii) - 1 values).
        max_num_neighbors: neighbour cap of the coarser levels' radius graphs.

    Shapes:
        x: (N, F), pos: (N, 3), batch: (N,), edge_index: (2, E) -> BackboneOutput
    """

    def __init__(
        self,
        in_channels: int,
        hourglass: Callable[[], GraphHourglass],
        num_stages: int = 2,
        num_maps: int = 13,
        radii: Sequence[float] = (3.0, 6.0, 12.0),
        voxel_sizes: Sequence[float] = (4.0, 8.0),
        max_num_neighbors: int = 32,
    ):
        super().__init__()
        if num_stages < 1:
            raise ValueError(f"num_stages must be >= 1, got {num_stages}")
        self.stages = nn.ModuleList(hourglass() for _ in range(num_stages))
        channels = self.stages[0].channels[0]
        if self.stages[0].num_levels > len(radii):
            raise ValueError(f"the hourglass has {self.stages[0].num_levels} levels but only {len(radii)} radii are given")
        self.radii = [float(r) for r in radii]
        self.voxel_sizes = [float(v) for v in voxel_sizes]
        self.max_num_neighbors = int(max_num_neighbors)
        self.in_channels, self.channels, self.num_maps = in_channels, channels, num_maps
        self.stem = nn.Sequential(nn.Linear(in_channels, channels), nn.ReLU(), nn.Linear(channels, channels))
        self.to_maps = nn.ModuleList(nn.Linear(channels, num_maps) for _ in range(num_stages))
        self.from_maps = nn.ModuleList(nn.Linear(num_maps, channels) for _ in range(num_stages - 1))

    @property
    def num_stages(self) -> int:
        return len(self.stages)

    def forward(self, x: Tensor, pos: Tensor, batch: Tensor, edge_index: Tensor | None = None,
                num_graphs: int | None = None) -> BackboneOutput:
        if x.shape[-1] != self.in_channels:
            raise ValueError(f"node features have {x.shape[-1]} channels, the backbone expects {self.in_channels}")
        levels = build_pyramid(pos, batch, edge_index, self.radii[: self.stages[0].num_levels],
                               self.voxel_sizes[: self.stages[0].num_levels - 1], self.max_num_neighbors)
        if num_graphs is None:
            num_graphs = int(batch.max()) + 1 if batch.numel() else 0
        h = self.stem(x)
        features, maps = [], []
        for s, stage in enumerate(self.stages):
            h = stage(h, levels)
            m = self.to_maps[s](h)
            features.append(h)
            maps.append(m)
            if s + 1 < self.num_stages:
                h = h + self.from_maps[s](m)
        return BackboneOutput(features, maps, levels, batch, num_graphs)
