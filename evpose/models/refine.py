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


def camera_direction(cam_R: Tensor) -> Tensor:
    """The optical axis of each camera in the world frame (the third row of R), unit length.

    Shapes:
        cam_R: (B, 3, 3) -> (B, 3)
    """
    return cam_R[:, 2, :]


def window_relative_positions(pos: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
    """Node positions relative to their window: ``(pos - mean) / spread``, the mean and the
    spread (RMS distance from the mean in the image plane, at least 1 px; the same for the
    time axis so that its scale is kept) taken per graph.

    Shapes:
        pos: (N, 3), batch: (N,) -> (N, 3)
    """
    if pos.shape[0] == 0:
        return pos
    from .scatter import scatter_mean_rows

    mean = scatter_mean_rows(pos, batch, num_graphs)
    rel = pos - mean.index_select(0, batch)
    spread = scatter_mean_rows(rel[:, :2].pow(2).sum(-1, keepdim=True), batch, num_graphs).sqrt().clamp_min(1.0)
    return rel / spread.index_select(0, batch)


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
        num_stages: S >= 1 (default 1).
        num_maps: M, per-node prediction channels (default 13, DHP19's joints).
        radii: graph radius per pyramid level (level 0 should equal the data's graph radius;
            default (8, 16, 32) px).
        voxel_sizes: voxel edge making each coarser level (len(radii) - 1 values; default (6, 12)).
        max_num_neighbors: neighbour cap of the coarser levels' radius graphs (default 16).
        map_scale: the maps are ``map_scale`` times a linear map of the node features, whose
            weights start ``map_scale`` times smaller (the same initial maps). Node features
            are layer-normalised, so a linear map of them is of order one and its weights
            grow by about the learning rate per step; a soft-argmax over ~2000 nodes needs
            a peak several nats above the rest, which such logits reach only slowly (the
            distribution stays broad and the predicted skeleton shrinks to the centroid).
            The scale makes the logits learn ``map_scale`` times faster. The next stage is
            fed the linear map before the scaling (default 10).
        camera_input: append the viewing direction of the window's camera (world frame,
            :func:`camera_direction`) to every node's stem input; ``forward`` then needs
            ``cam_R``. In a fixed camera rig where people face one way (DHP19, the
            synthetic data) it tells the network the view, and so the body's left from its
            right, which the events of a side view hardly show (default True).
        time_scales: factor on the time axis of each coarser pyramid level (see
            :func:`~evpose.models.pyramid.build_pyramid`; default (0.25, 0): time squeezed 4x,
            then flattened; None: 1 each).
        position_input: also feed every node its position relative to its window, ``(pos -
            centroid) / spread`` per graph (3 more stem inputs; the graph layers themselves
            see relative offsets only), so a node knows where on the body it lies (default True).

    Shapes:
        x: (N, F), pos: (N, 3), batch: (N,), edge_index: (2, E), cam_R: (B, 3, 3) -> BackboneOutput
    """

    def __init__(
        self,
        in_channels: int,
        hourglass: Callable[[], GraphHourglass],
        num_stages: int = 1,
        num_maps: int = 13,
        radii: Sequence[float] = (8.0, 16.0, 32.0),
        voxel_sizes: Sequence[float] = (6.0, 12.0),
        max_num_neighbors: int = 16,
        position_input: bool = True,
        time_scales: Sequence[float] | None = (0.25, 0.0),
        map_scale: float = 10.0,
        camera_input: bool = True,
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
        self.time_scales = None if time_scales is None else [float(f) for f in time_scales]
        self.in_channels, self.channels, self.num_maps = in_channels, channels, num_maps
        self.position_input = bool(position_input)
        self.camera_input = bool(camera_input)
        stem_in = in_channels + (3 if self.position_input else 0) + (3 if self.camera_input else 0)
        self.stem = nn.Sequential(nn.Linear(stem_in, channels), nn.ReLU(), nn.Linear(channels, channels))
        if not map_scale > 0:
            raise ValueError(f"map_scale must be positive, got {map_scale}")
        self.map_scale = float(map_scale)
        self.to_maps = nn.ModuleList(nn.Linear(channels, num_maps) for _ in range(num_stages))
        if self.map_scale != 1.0:
            with torch.no_grad():
                for lin in self.to_maps:
                    lin.weight.div_(self.map_scale)
                    lin.bias.div_(self.map_scale)
        self.from_maps = nn.ModuleList(nn.Linear(num_maps, channels) for _ in range(num_stages - 1))

    @property
    def num_stages(self) -> int:
        return len(self.stages)

    def forward(self, x: Tensor, pos: Tensor, batch: Tensor, edge_index: Tensor | None = None,
                num_graphs: int | None = None, cam_R: Tensor | None = None) -> BackboneOutput:
        if x.shape[-1] != self.in_channels:
            raise ValueError(f"node features have {x.shape[-1]} channels, the backbone expects {self.in_channels}")
        L = self.stages[0].num_levels
        levels = build_pyramid(pos, batch, edge_index, self.radii[:L], self.voxel_sizes[: L - 1], self.max_num_neighbors,
                               None if self.time_scales is None else self.time_scales[: L - 1])
        if num_graphs is None:
            num_graphs = int(batch.max()) + 1 if batch.numel() else 0
        if self.position_input:
            x = torch.cat([x, window_relative_positions(pos, batch, num_graphs)], dim=-1)
        if self.camera_input:
            if cam_R is None or cam_R.shape != (num_graphs, 3, 3):
                raise ValueError(f"the backbone takes the camera rotation of every window (cam_R ({num_graphs}, 3, 3)), "
                                 f"got {None if cam_R is None else tuple(cam_R.shape)}")
            x = torch.cat([x, camera_direction(cam_R).to(x.dtype).index_select(0, batch)], dim=-1)
        h = self.stem(x)
        features, maps = [], []
        for s, stage in enumerate(self.stages):
            h = stage(h, levels)
            m = self.to_maps[s](h)
            features.append(h)
            maps.append(m * self.map_scale if self.map_scale != 1.0 else m)
            if s + 1 < self.num_stages:
                h = h + self.from_maps[s](m)
        return BackboneOutput(features, maps, levels, batch, num_graphs)
