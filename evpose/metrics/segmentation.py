"""Body-part segmentation metrics: confusion matrix, per-class IoU, mIoU, accuracy."""

from __future__ import annotations

import torch


def confusion_matrix(pred, target, num_classes: int, ignore_index: int | None = None) -> torch.Tensor:
    """Counts ``C[i, j]`` of nodes of true class ``i`` predicted as ``j``.

    Args:
        pred, target: class ids in ``[0, num_classes)``.
        ignore_index: target value to leave out (e.g. -100 for unlabelled nodes).

    Shapes:
        pred, target: (N,) -> (C, C) int64
    """
    pred = torch.as_tensor(pred).reshape(-1).long()
    target = torch.as_tensor(target, device=pred.device).reshape(-1).long()
    if pred.shape != target.shape:
        raise ValueError(f"pred has {pred.numel()} labels, target {target.numel()}")
    keep = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
    pred, target = pred[keep], target[keep]
    for name, v in (("pred", pred), ("target", target)):
        if v.numel() and (v.min() < 0 or v.max() >= num_classes):
            bad = v[(v < 0) | (v >= num_classes)][0].item()
            raise ValueError(f"{name} label {bad} outside [0, {num_classes})")
    return torch.bincount(target * num_classes + pred, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )


def iou_per_class(conf: torch.Tensor) -> torch.Tensor:
    """IoU of each class from a confusion matrix; NaN for classes absent from both
    prediction and target. Shapes: (C, C) -> (C,)"""
    conf = conf.double()
    tp = conf.diag()
    union = conf.sum(0) + conf.sum(1) - tp
    return torch.where(union > 0, tp / union.clamp_min(1), torch.full_like(tp, float("nan")))


def mean_iou(pred, target, num_classes: int, ignore_index: int | None = None) -> torch.Tensor:
    """Mean IoU over the classes that occur in the prediction or the target."""
    iou = iou_per_class(confusion_matrix(pred, target, num_classes, ignore_index))
    return iou[~iou.isnan()].mean() if (~iou.isnan()).any() else torch.tensor(float("nan"), dtype=torch.float64)


def accuracy(pred, target, ignore_index: int | None = None) -> torch.Tensor:
    """Share of correct labels (ignoring ``ignore_index`` targets). Shapes: (N,), (N,) -> scalar."""
    pred = torch.as_tensor(pred).reshape(-1)
    target = torch.as_tensor(target, device=pred.device).reshape(-1)
    keep = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
    if keep.sum() == 0:
        return torch.tensor(float("nan"), dtype=torch.float64)
    return (pred[keep] == target[keep]).double().mean()
