"""Accumulating metrics of the pretext tasks and their trivial baselines (torchmetrics).

They keep sums (or, for the constant predictors, the targets) as metric states, so they
reduce correctly across DDP processes.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from ..metrics.binary import BinaryF1  # noqa: F401  (the tasks take it from here with the others)


class MeanAbsError(Metric):
    """Mean absolute error. Shapes (update): pred (...), target (...), weight (...) optional."""

    full_state_update = False

    def __init__(self, **kw):
        super().__init__(**kw)
        self.add_state("total", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, pred, target, weight=None) -> None:
        err = (pred.double() - target.double()).abs()
        w = torch.ones_like(err) if weight is None else weight.double()
        self.total += (err * w).sum()
        self.count += w.sum()

    def compute(self) -> torch.Tensor:
        return self.total / self.count if self.count > 0 else torch.tensor(float("nan"), dtype=torch.float64)


class MeanOf(Metric):
    """Mean of the values seen (e.g. of ``pred == target``: an accuracy). Shapes (update): (...)"""

    full_state_update = False

    def __init__(self, **kw):
        super().__init__(**kw)
        self.add_state("total", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, values) -> None:
        self.total += values.double().sum()
        self.count += values.numel()

    def compute(self) -> torch.Tensor:
        return self.total / self.count if self.count > 0 else torch.tensor(float("nan"), dtype=torch.float64)


class ConstantMeanMAE(Metric):
    """MAE of the trivial predictor that answers the mean of all targets seen (the targets
    are kept and the mean is taken at the end, over the whole evaluation set).

    Shapes (update): target (...)
    """

    full_state_update = False

    def __init__(self, **kw):
        super().__init__(**kw)
        self.add_state("values", default=[], dist_reduce_fx="cat")

    def update(self, target) -> None:
        # kept in the metric's dtype (float32 unless set_dtype; moving the metric resets it):
        # under DDP a process that saw no target gathers an empty tensor of that dtype, and
        # every process's tensor must have the same one
        self.values.append(target.detach().reshape(-1).to(self.dtype))

    def compute(self) -> torch.Tensor:
        # a list of the batches' targets; under DDP, after the processes' lists were gathered,
        # one tensor (whose truth value is ambiguous: test the list for emptiness only)
        if isinstance(self.values, list) and not self.values:
            return torch.tensor(float("nan"), dtype=torch.float64)
        v = dim_zero_cat(self.values).double()
        if v.numel() == 0:
            return torch.tensor(float("nan"), dtype=torch.float64)
        return (v - v.mean()).abs().mean()


class MajorityClass(Metric):
    """Accuracy and mIoU of the trivial predictor answering the most frequent class of the
    evaluation targets.

    Args:
        num_classes: C.
        kind: ``"accuracy"`` or ``"miou"``.

    Shapes (update): target (N,) int in [0, C)
    """

    full_state_update = False

    def __init__(self, num_classes: int, kind: str = "accuracy", **kw):
        super().__init__(**kw)
        if kind not in ("accuracy", "miou"):
            raise ValueError(f"kind must be 'accuracy' or 'miou', got {kind!r}")
        self.num_classes, self.kind = num_classes, kind
        self.add_state("hist", default=torch.zeros(num_classes, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, target) -> None:
        self.hist += torch.bincount(target.long().reshape(-1), minlength=self.num_classes).double()[: self.num_classes]

    def compute(self) -> torch.Tensor:
        n = self.hist.sum()
        if n == 0:
            return torch.tensor(float("nan"), dtype=torch.float64)
        top = self.hist.max()
        if self.kind == "accuracy":
            return top / n
        # predicting class m everywhere: IoU_m = n_m / n, every other present class 0
        present = (self.hist > 0).sum()
        return (top / n) / present
