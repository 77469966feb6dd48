"""A pretraining run's validation metrics next to each task's baselines, as a table."""

from __future__ import annotations

import math
from typing import Mapping

#: Metric names (or name parts) where lower is better; every other metric is higher-better.
LOWER_IS_BETTER = ("mae", "epe", "loss")


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of ``metric`` (e.g. ``mae``, ``motion_epe``) is better."""
    return any(part in LOWER_IS_BETTER for part in metric.split("_"))


def pretext_comparison(metrics: Mapping[str, float], stage: str = "val") -> list[dict]:
    """Each pretext metric with every baseline logged for it.

    Metric keys are ``<stage>/<task>/<metric>`` and baselines ``<stage>/<task>/baseline_<metric>_<name>``
    (as :class:`~evpose.modules.TaskModule` logs them); losses are left out.

    Args:
        metrics: metric name -> value (e.g. ``trainer.callback_metrics`` as floats).
        stage: the prefix to read.

    Returns:
        rows ``{"task", "metric", "model", "baseline", "baseline_value", "better"}``, one per
        (metric, baseline) pair, where ``better`` says whether the model beats that baseline.
    """
    by_task: dict[str, dict[str, float]] = {}
    for key, value in metrics.items():
        parts = key.split("/")
        if len(parts) == 3 and parts[0] == stage:
            by_task.setdefault(parts[1], {})[parts[2]] = float(value)
    rows = []
    for task in sorted(by_task):
        values = by_task[task]
        for metric in sorted(m for m in values if not m.startswith("baseline_") and m != "loss"):
            prefix = f"baseline_{metric}_"
            for base in sorted(b for b in values if b.startswith(prefix)):
                model, ref = values[metric], values[base]
                if math.isnan(model) or math.isnan(ref):
                    better = None
                else:
                    better = model < ref if lower_is_better(metric) else model > ref
                rows.append({"task": task, "metric": metric, "model": model, "baseline": base[len(prefix):],
                             "baseline_value": ref, "better": better})
    return rows


def pretext_table(metrics: Mapping[str, float], stage: str = "val") -> str:
    """:func:`pretext_comparison` as a Markdown table (empty string when nothing was logged)."""
    rows = pretext_comparison(metrics, stage)
    if not rows:
        return ""
    out = ["| task | metric | model | baseline | baseline value | model better |", "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        arrow = "lower is better" if lower_is_better(r["metric"]) else "higher is better"
        verdict = {True: "yes", False: "no", None: "n/a"}[r["better"]]
        out.append(f"| {r['task']} | {r['metric']} ({arrow}) | {r['model']:.3f} | {r['baseline']} | "
                   f"{r['baseline_value']:.3f} | {verdict} |")
    return "\n".join(out)


def last_logged(csv_path) -> dict[str, float]:
    """The last value logged for every metric in a Lightning ``metrics.csv`` (CSVLogger).

    ``python -m evpose.pretext.summary <run>/csv/metrics.csv`` prints :func:`pretext_table` of it.
    """
    import csv

    last: dict[str, float] = {}
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            for key, value in row.items():
                if value not in ("", None):
                    last[key] = float(value)
    return last


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: python -m evpose.pretext.summary <run>/csv/metrics.csv")
    print(pretext_table(last_logged(sys.argv[1])) or f"{sys.argv[1]}: no val/<task>/<metric> columns")
