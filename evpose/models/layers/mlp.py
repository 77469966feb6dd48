"""A small MLP builder used inside graph layers and heads."""

from __future__ import annotations

from typing import Sequence

from torch import nn


def mlp(channels: Sequence[int], act_last: bool = False, norm: bool = False) -> nn.Sequential:
    """Linear layers ``channels[0] -> ... -> channels[-1]`` with ReLU between them.

    Args:
        channels: layer widths, at least two.
        act_last: also apply the activation after the last layer.
        norm: LayerNorm before each activation.
    """
    if len(channels) < 2:
        raise ValueError(f"an MLP needs at least 2 widths, got {list(channels)}")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(channels[:-1], channels[1:])):
        layers.append(nn.Linear(a, b))
        last = i == len(channels) - 2
        if not last or act_last:
            if norm:
                layers.append(nn.LayerNorm(b))
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)
