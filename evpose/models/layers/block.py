"""The residual graph-convolution block of the hourglass."""

from __future__ import annotations

from typing import Callable

from torch import nn


class GraphConvBlock(nn.Module):
    """``act(norm(conv(x) + skip(x)))``: a graph convolution with a residual connection.

    Args:
        conv: a built layer with the evpose convention ``conv(x, pos, edge_index, edge_attr)``
            (see :mod:`evpose.models.layers.convs`).
        in_channels, out_channels: feature widths; the skip is a linear map when they differ.
        norm: normalisation factory called with ``out_channels`` (default LayerNorm, which
            does not mix graphs of a batch).
        act: activation module (default ReLU).

    Shapes:
        x: (N, C_in), pos: (N, 3), edge_index: (2, E), edge_attr: (E, 3) -> (N, C_out)
    """

    def __init__(
        self,
        conv: nn.Module,
        in_channels: int,
        out_channels: int,
        norm: Callable[[int], nn.Module] | None = nn.LayerNorm,
        act: nn.Module | None = None,
    ):
        super().__init__()
        self.conv = conv
        self.skip = nn.Identity() if in_channels == out_channels else nn.Linear(in_channels, out_channels, bias=False)
        self.norm = norm(out_channels) if norm is not None else nn.Identity()
        self.act = act if act is not None else nn.ReLU()

    def forward(self, x, pos, edge_index, edge_attr):
        return self.act(self.norm(self.conv(x, pos, edge_index, edge_attr) + self.skip(x)))
