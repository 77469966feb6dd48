"""Body parts: a class per graph node (the P parts and background), at every backbone stage.

Encoder: the per-event part labels of the window's nodes (``part``: a part id, -1 for
background, below -1 unknown), written by the graph transform.
Head: a :class:`~evpose.models.heads.PartsHead` per backbone stage.
Loss: cross-entropy per stage (unknown labels left out; no term on data without part labels).
Metric: part mIoU (the last stage).
"""

from __future__ import annotations

import torch
from torch import nn

from ..metrics import PartIoUMetric
from ..models.heads import PartsHead
from ..models.losses import part_loss, part_targets
from .base import NODE, STAGES, Encoder, Key, Keys, Task, TaskHead

#: The node labels the parts task reads.
PARTS_KEYS = Keys(part=Key("part", NODE))  # (N,) part id per node


class PartLabels(Encoder):
    """The part labels of a window's nodes (see the module docstring); corrupts nothing.

    Args:
        num_parts: P (>= 1).
    """

    keys = PARTS_KEYS
    part_labels = "optional"

    def __init__(self, num_parts: int = 10):
        if int(num_parts) < 1:
            raise ValueError(f"parts: num_parts must be >= 1, got {num_parts} (leave the parts task out instead)")
        self.num_parts = int(num_parts)

    def targets(self, batch) -> dict[str, torch.Tensor] | None:
        """``part`` (N,) classifier targets (:func:`~evpose.models.losses.part_targets`), or
        None when the batch has no part labels."""
        part = PARTS_KEYS.part.get(batch)
        return None if part is None else {"part": part_targets(part, self.num_parts)}


class PartsTaskHead(TaskHead):
    """A :class:`~evpose.models.heads.PartsHead` per backbone stage.

    Args:
        channels: backbone width.
        encoder: the task's :class:`PartLabels`.
        num_stages: backbone stages.
    """

    outputs = {"part_logits": NODE, "stages": STAGES}

    def __init__(self, channels: int, encoder: PartLabels, num_stages: int = 1):
        super().__init__()
        self.encoder = encoder
        self.stages = nn.ModuleList(PartsHead(channels, encoder.num_parts) for _ in range(num_stages))

    def forward(self, features, batch):
        stages = [head(h) for head, h in zip(self.stages, features.features)]
        return {**stages[-1], "stages": stages}

    def losses(self, out, batch):
        tg = self.encoder.targets(batch)
        if tg is None:
            return {}
        return {"loss_parts": [part_loss(o["part_logits"], tg["part"]) for o in out["stages"]]}

    def metrics(self) -> nn.ModuleDict:
        return nn.ModuleDict({"miou": PartIoUMetric(self.encoder.num_parts + 1)})

    def update_metrics(self, metrics, out, batch):
        tg = self.encoder.targets(batch)
        if tg is not None:
            metrics["miou"].update(out["part_logits"].argmax(1), tg["part"])


class PartsTask(Task):
    """Body parts (see the module docstring).

    Args:
        weight: weight of the cross-entropy.
        num_parts: P (the head has P + 1 classes, background last).
    """

    name = "parts"
    kind = "pose"
    head_class = PartsTaskHead
    namespaced = False

    def __init__(self, weight: float = 1.0, num_parts: int = 10):
        super().__init__(weight, PartLabels(num_parts))

    @property
    def num_parts(self) -> int:
        return self.encoder.num_parts

    def build_head(self, channels: int, num_stages: int = 1) -> PartsTaskHead:
        return self.head_class(channels, self.encoder, num_stages=num_stages)

    @property
    def loss_weights(self) -> dict[str, float]:
        return {"loss_parts": self.weight}
