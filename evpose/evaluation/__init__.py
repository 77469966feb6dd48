"""Evaluation of pose estimators on test splits, baselines, reports and plots."""

from .baselines import CentroidOffsetBaseline, MeanPoseBaseline
from .report import summary_table, to_markdown, write_report
from .runner import WindowRef, collect_windows, evaluate, evaluate_multiview, fit_baselines

__all__ = [
    "CentroidOffsetBaseline",
    "MeanPoseBaseline",
    "WindowRef",
    "collect_windows",
    "evaluate",
    "evaluate_multiview",
    "fit_baselines",
    "summary_table",
    "to_markdown",
    "write_report",
]
