"""Per-node body-part classification."""

from __future__ import annotations

from torch import nn


class PartsHead(nn.Module):
    """Logits over the body parts plus one background/noise class (the last, index P).

    Args:
        in_channels: node feature width C.
        num_parts: P (background is class P).

    Shapes:
        h: (N, C) -> part_logits (N, P + 1)
    """

    def __init__(self, in_channels: int, num_parts: int):
        super().__init__()
        self.num_parts = num_parts
        self.classifier = nn.Linear(in_channels, num_parts + 1)

    def forward(self, h):
        return {"part_logits": self.classifier(h)}
