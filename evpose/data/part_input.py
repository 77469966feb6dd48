"""The part-label input channels of event-graph nodes.

Every node carries ``P + 2`` extra input features: a one-hot over the P body parts plus
background (class P) when its label is shown, or a mask flag (the last channel) when it is
hidden. Masked part refill (pretraining) shows some labels and hides the rest; fine-tuning
and inference hide all of them, so the backbone's input layout is the same everywhere and a
pretrained backbone loads unchanged. With ``num_parts = 0`` there is no part input; where
the blocks lie in ``x`` is :class:`evpose.data.NodeInputSpec`'s to say.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..types import part_class


def part_input(num_nodes: int, num_parts: int, part: Tensor | None = None, shown: Tensor | None = None,
               device=None) -> Tensor:
    """Part-input features of the nodes.

    Args:
        num_nodes: N.
        num_parts: P.
        part: node labels, part id or -1 for background (needed where ``shown``).
        shown: which nodes show their label (default: none, all masked).

    Shapes:
        part: (N,), shown: (N,) bool -> (N, P + 2) float32
    """
    out = torch.zeros(num_nodes, num_parts + 2, device=device)
    if shown is None or not bool(shown.any()):
        out[:, num_parts + 1] = 1.0
        return out
    if part is None:
        raise ValueError("part labels are needed to show them")
    cls = part_class(part.long(), num_parts)
    idx = torch.nonzero(shown).squeeze(1)
    out[idx, cls[idx]] = 1.0
    out[~shown, num_parts + 1] = 1.0
    return out


class AppendPartInput:
    """Transform on an event graph: append the part-input channels, all masked (the
    fine-tuning and inference layout).

    Args:
        num_parts: P.
    """

    def __init__(self, num_parts: int):
        self.num_parts = int(num_parts)

    def __call__(self, data):
        if data is None:
            return None
        data.x = torch.cat([data.x, part_input(data.num_nodes, self.num_parts, device=data.x.device)], dim=1)
        return data

    def __repr__(self) -> str:
        return f"AppendPartInput(num_parts={self.num_parts})"
