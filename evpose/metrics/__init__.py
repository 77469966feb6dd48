"""Metrics as pure functions (pose, segmentation, binary F1), running torchmetrics wrappers, tables."""

from .binary import BinaryF1, binary_f1
from .pose import (
    AUC_THRESHOLDS_MM,
    auc_pck,
    joint_errors,
    mpjpe,
    pa_mpjpe,
    pck,
    pck3d,
    per_joint_mpjpe,
    procrustes_align,
)
from .running import JointErrorMetric, PartIoUMetric
from .segmentation import accuracy, confusion_matrix, iou_per_class, mean_iou
from .tables import markdown_table

__all__ = [
    "AUC_THRESHOLDS_MM",
    "BinaryF1",
    "JointErrorMetric",
    "PartIoUMetric",
    "accuracy",
    "auc_pck",
    "binary_f1",
    "confusion_matrix",
    "iou_per_class",
    "joint_errors",
    "markdown_table",
    "mean_iou",
    "mpjpe",
    "pa_mpjpe",
    "pck",
    "pck3d",
    "per_joint_mpjpe",
    "procrustes_align",
]
