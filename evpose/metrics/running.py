"""torchmetrics wrappers that accumulate the pure metrics over batches (for Lightning logging).

Each keeps sums and counts as metric states, so they reduce correctly across DDP processes.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric

from .pose import AUC_THRESHOLDS_MM, _as_tensors, procrustes_align
from .segmentation import confusion_matrix, iou_per_class


class JointErrorMetric(Metric):
    """Running MPJPE (``kind="mpjpe"``), PA-MPJPE (``"pa_mpjpe"``), PCK at ``threshold``
    (``"pck"``) or AUC over 0..150 mm (``"auc"``), with per-joint sums for tables.

    Args:
        kind: one of ``mpjpe``, ``pa_mpjpe``, ``pck``, ``auc``.
        num_joints: K.
        threshold: PCK threshold (px or mm) for ``kind="pck"``.

    Shapes (update):
        pred, target: (B, K, D), weight: (B, K) or None
    """

    full_state_update = False
    KINDS = ("mpjpe", "pa_mpjpe", "pck", "auc")

    def __init__(self, kind: str = "mpjpe", num_joints: int = 13, threshold: float | None = None, **kwargs):
        super().__init__(**kwargs)
        if kind not in self.KINDS:
            raise ValueError(f"unknown metric kind {kind!r}; valid: {', '.join(self.KINDS)}")
        if kind == "pck" and threshold is None:
            raise ValueError("kind='pck' needs a threshold")
        self.kind, self.threshold = kind, threshold
        self.add_state("total", default=torch.zeros(num_joints, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.zeros(num_joints, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, pred, target, weight=None) -> None:
        pred, target, weight = _as_tensors(pred.detach(), target.detach(), None if weight is None else weight.detach())
        if self.kind == "pa_mpjpe":
            pred = procrustes_align(pred, target, weight)
        err = (pred - target).norm(dim=-1)
        if self.kind == "pck":
            value = (err <= self.threshold).double()
        elif self.kind == "auc":
            th = torch.as_tensor(AUC_THRESHOLDS_MM, dtype=torch.float64, device=err.device)
            value = (err[..., None] <= th).double().mean(dim=-1)
        else:
            value = err
        self.total += (value * weight).sum(dim=0).to(self.total.device)
        self.count += weight.sum(dim=0).to(self.count.device)

    def compute(self) -> torch.Tensor:
        n = self.count.sum()
        return self.total.sum() / n if n > 0 else torch.tensor(float("nan"), dtype=torch.float64)

    def per_joint(self) -> torch.Tensor:
        """(K,) value per joint (NaN for joints never valid)."""
        return torch.where(self.count > 0, self.total / self.count.clamp_min(1e-12), torch.full_like(self.total, float("nan")))


class PartIoUMetric(Metric):
    """Running confusion matrix of part labels; ``compute`` gives the mIoU.

    Args:
        num_classes: C (parts plus background).
        ignore_index: target value left out.
    """

    full_state_update = False

    def __init__(self, num_classes: int, ignore_index: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.num_classes, self.ignore_index = num_classes, ignore_index
        self.add_state("conf", default=torch.zeros(num_classes, num_classes, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, pred, target) -> None:
        self.conf += confusion_matrix(pred.detach(), target.detach(), self.num_classes, self.ignore_index).to(self.conf.device)

    def compute(self) -> torch.Tensor:
        iou = iou_per_class(self.conf)
        ok = ~iou.isnan()
        return iou[ok].mean() if ok.any() else torch.tensor(float("nan"), dtype=torch.float64)

    def per_class(self) -> torch.Tensor:
        return iou_per_class(self.conf)
