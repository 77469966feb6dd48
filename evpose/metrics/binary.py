"""F1 of binary decisions (e.g. a cell occupied or not): torchmetrics' F1, except that it is
NaN, not 0, when neither the prediction nor the truth holds a positive (undefined)."""

from __future__ import annotations

import numpy as np
import torch
from torchmetrics.classification import BinaryF1Score
from torchmetrics.functional.classification import binary_f1_score


def binary_f1(pred, truth) -> float:
    """F1 of boolean predictions against boolean truth (NaN when there is no positive in either).

    Shapes:
        pred, truth: (...) bool (arrays or tensors) -> float
    """
    p = torch.as_tensor(np.asarray(pred, bool).reshape(-1))
    t = torch.as_tensor(np.asarray(truth, bool).reshape(-1))
    if p.shape != t.shape:
        raise ValueError(f"pred has {p.numel()} values, truth {t.numel()}")
    if not (p.any() or t.any()):
        return float("nan")
    return float(binary_f1_score(p.long(), t.long(), validate_args=False))


class BinaryF1(BinaryF1Score):
    """:class:`torchmetrics.classification.BinaryF1Score` of boolean decisions, accumulated
    over batches (summed counts: reduces across DDP processes); NaN when no positive was
    predicted or seen.

    Shapes (update): pred (...) bool, target (...) bool
    """

    def __init__(self, **kw):
        super().__init__(validate_args=False, **kw)

    def update(self, pred, target) -> None:
        super().update(pred.reshape(-1).long(), target.reshape(-1).long())

    def compute(self) -> torch.Tensor:
        if self.tp + self.fp + self.fn == 0:
            return torch.tensor(float("nan"), dtype=torch.float64)
        return super().compute()
