"""Missing-event counts: predict how many events were removed from each query cell.

Corruption: the same box masking as inpainting (:class:`~evpose.pretext.inpaint.BoxMasking`,
shared when both tasks are on). Head: a query decoder giving a log-rate per cell.
Loss: Poisson negative log-likelihood. Metric: count MAE per cell.
Baseline: predicting the mean count of the evaluation cells for every cell.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..models.heads import QueryDecoder
from .base import PretextTask, TaskHead
from .inpaint import BOX_KEYS, BoxMasking
from .metrics import ConstantMeanMAE, MeanAbsError


class CountHead(TaskHead):
    """A log-rate per query cell from a query decoder.

    Args:
        channels: backbone width.
        encoder: the task's :class:`~evpose.pretext.inpaint.BoxMasking` (its box size sets the
            decoder's scale).
    """

    outputs = {"log_rate": BOX_KEYS.query.name}
    #: before checkpoint format 3 the head was its decoder (weights under ``heads.<task>.``)
    format2_prefix = "decoder."

    def __init__(self, channels: int, encoder: BoxMasking):
        super().__init__()
        self.decoder = QueryDecoder(channels, 1, k=encoder.k, scale=float(encoder.box_px[0]) / 2)

    def forward(self, features, batch):
        out = self.decode_queries(self.decoder, features, batch, BOX_KEYS.query)
        return {"log_rate": out[:, 0]}

    def loss(self, out, batch):
        return F.poisson_nll_loss(out["log_rate"], BOX_KEYS.count.of(batch), log_input=True, full=False)

    @staticmethod
    def predicted_count(out) -> torch.Tensor:
        """The expected count of each cell, ``exp(log_rate)``."""
        return out["log_rate"].detach().clamp(max=20).exp()

    def metrics(self) -> nn.ModuleDict:
        return nn.ModuleDict({"mae": MeanAbsError(), "baseline_mae_mean": ConstantMeanMAE()})

    def update_metrics(self, metrics, out, batch):
        count = BOX_KEYS.count.of(batch)
        metrics["mae"].update(self.predicted_count(out), count)
        metrics["baseline_mae_mean"].update(count)


class CountTask(PretextTask):
    """Missing-count prediction (see the module docstring).

    Args:
        weight: loss weight.
        share, box_px, box_us, cell_px, cell_us, max_boxes, min_events: the corruption,
            used when inpainting is off (otherwise inpainting's boxes are shared).
        k: nodes joined to each query cell.
    """

    name = "count"
    head_class = CountHead

    def __init__(
        self,
        weight: float = 1.0,
        share: Sequence[float] = (0.1, 0.3),
        box_px: Sequence[int] = (16, 16),
        box_us: int = 8000,
        cell_px: int = 4,
        cell_us: int = 4000,
        max_boxes: int = 64,
        min_events: int = 200,
        k: int = 8,
    ):
        super().__init__(weight, BoxMasking(share, box_px, box_us, cell_px, cell_us, max_boxes, min_events, k))
