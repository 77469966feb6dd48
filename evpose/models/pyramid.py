"""The graph pyramid an hourglass runs on: coarser graphs by voxel clustering."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import torch
from torch import Tensor

from ..graph import radius_graph, relative_offsets, voxel_cluster, voxel_pool


@dataclass
class GraphLevel:
    """One level of the pyramid.

    Shapes:
        pos: (N_l, 3) in pixels (x, y, scaled t); batch: (N_l,); edge_index: (2, E_l);
        cluster: (N_{l-1},) the id at this level of every node of the level below
        (None at level 0); radius: the level's graph radius (pos units)
    """

    pos: Tensor
    batch: Tensor
    edge_index: Tensor
    radius: float
    cluster: Tensor | None = None

    @property
    def num_nodes(self) -> int:
        return self.pos.shape[0]

    @cached_property
    def scaled_pos(self) -> Tensor:
        """Positions in units of the level's radius (what the graph layers see)."""
        return self.pos / self.radius

    @cached_property
    def edge_attr(self) -> Tensor:
        """(E, 3) offsets ``(pos_j - pos_i) / radius``."""
        return relative_offsets(self.pos, self.edge_index, self.radius)


def build_pyramid(
    pos: Tensor,
    batch: Tensor,
    edge_index: Tensor | None,
    radii: Sequence[float],
    voxel_sizes: Sequence[float],
    max_num_neighbors: int = 32,
    time_scales: Sequence[float] | None = None,
) -> list[GraphLevel]:
    """Level 0 is the input graph; level l >= 1 pools the nodes of level l-1 into voxels of
    edge ``voxel_sizes[l-1]`` (positions averaged) and links them within ``radii[l]``.

    The voxel grid starts at the origin of pos (x = y = 0 px, t = t0), not at the batch's
    smallest coordinates, so a window is pooled the same way whichever windows share its batch.

    Args:
        pos: node positions (x px, y px, scaled t), all >= 0.
        batch: graph id of every node.
        edge_index: the level-0 edges (None: built here with ``radii[0]``).
        radii: graph radius per level, L values.
        voxel_sizes: voxel edge used to make levels 1..L-1, L-1 values.
        max_num_neighbors: neighbour cap at every level.
        time_scales: factor on the time axis of each coarser level, L-1 values (default 1
            each). Below 1 a coarser level pools over longer times and links nodes further
            apart in time, so its neighbourhoods reach further across the body in a long
            window; 0 flattens the level onto the image plane. Voxels keep their size in
            the level's own units.

    Shapes:
        pos: (N, 3), batch: (N,), edge_index: (2, E) -> L levels
    """
    if len(voxel_sizes) != len(radii) - 1:
        raise ValueError(f"{len(radii)} levels need {len(radii) - 1} voxel sizes, got {len(voxel_sizes)}")
    if edge_index is None:
        edge_index = radius_graph(pos, radii[0], batch=batch, max_num_neighbors=max_num_neighbors)
    if time_scales is None:
        time_scales = [1.0] * len(voxel_sizes)
    if len(time_scales) != len(voxel_sizes) or any(not float(f) >= 0 for f in time_scales):
        raise ValueError(f"{len(radii)} levels need {len(radii) - 1} time scales >= 0, got {list(time_scales)}")
    levels = [GraphLevel(pos, batch, edge_index, float(radii[0]))]
    unscaled = pos  # the level's positions on the input's time axis
    for r, size, f in zip(radii[1:], voxel_sizes, time_scales):
        prev = levels[-1]
        f = float(f)
        if prev.num_nodes == 0:
            cluster = torch.zeros(0, dtype=torch.long, device=pos.device)
            p, b = unscaled, prev.batch
        else:
            # voxels of edge `size` in this level's units: size / f along the input's time axis
            vsize = [float(size), float(size), float(size) / f if f > 0 else float("inf")]
            if f == 0:
                flat = torch.cat([unscaled[:, :2], torch.zeros_like(unscaled[:, 2:])], dim=1)
                cluster = voxel_cluster(flat, [float(size)] * 2 + [1.0], prev.batch, start=0.0)
            else:
                cluster = voxel_cluster(unscaled, vsize, prev.batch, start=0.0)
            _, p, b = voxel_pool(cluster, None, unscaled, prev.batch)
        unscaled = p
        scaled = p if f == 1.0 else p * p.new_tensor([1.0, 1.0, f])
        e = radius_graph(scaled, r, batch=b, max_num_neighbors=max_num_neighbors)
        levels.append(GraphLevel(scaled, b, e, float(r), cluster))
    return levels
