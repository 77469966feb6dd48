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
from ..tasks.base import TaskHead
from .base import PretextTask
from .inpaint import BOX_DEFAULTS, BOX_KEYS, BoxMasking
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
        share, box_px, box_us, cell_px, cell_us, max_boxes, min_events: the corruption
            (:class:`~evpose.pretext.inpaint.BoxMasking`; defaults
            :data:`~evpose.pretext.inpaint.BOX_DEFAULTS`), used when inpainting is off
            (otherwise inpainting's boxes are shared).
        k: nodes joined to each query cell.
    """

    name = "count"
    head_class = CountHead

    def __init__(
        self,
        weight: float = 1.0,
        share: Sequence[float] = BOX_DEFAULTS["share"],
        box_px: Sequence[int] = BOX_DEFAULTS["box_px"],
        box_us: int = BOX_DEFAULTS["box_us"],
        cell_px: int = BOX_DEFAULTS["cell_px"],
        cell_us: int = BOX_DEFAULTS["cell_us"],
        max_boxes: int = BOX_DEFAULTS["max_boxes"],
        min_events: int = BOX_DEFAULTS["min_events"],
        k: int = BOX_DEFAULTS["k"],
    ):
        super().__init__(weight, BoxMasking(share, box_px, box_us, cell_px, cell_us, max_boxes, min_events, k))
