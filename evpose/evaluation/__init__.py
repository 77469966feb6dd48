"""Evaluation of pose estimators on test splits, baselines, reports and plots."""

from .baselines import CentroidOffsetBaseline, MeanPoseBaseline
from .report import describe_windows, summary_table, to_markdown, write_report
from .synced_multiview import evaluate_synced_multiview, group_windows
from .runner import WindowRef, collect_windows, evaluate, evaluate_multiview, fit_baselines

__all__ = [
    "CentroidOffsetBaseline",
    "MeanPoseBaseline",
    "WindowRef",
    "collect_windows",
    "describe_windows",
    "evaluate",
    "evaluate_multiview",
    "evaluate_synced_multiview",
    "group_windows",
    "fit_baselines",
    "summary_table",
    "to_markdown",
    "write_report",
]
