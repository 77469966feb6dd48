"""Evaluation reports: JSON (every figure) and Markdown (tables for humans)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..metrics import markdown_table
from ..types import JOINT_NAMES

#: (key, column title, format) of the summary table
SUMMARY_COLUMNS = (
    ("mpjpe2d_px", "MPJPE 2D (px)", "{:.2f}"),
    ("pck5", "PCK@5px", "{:.3f}"),
    ("pck10", "PCK@10px", "{:.3f}"),
    ("mpjpe3d_mm", "MPJPE 3D (mm)", "{:.1f}"),
    ("pa_mpjpe3d_mm", "PA-MPJPE (mm)", "{:.1f}"),
    ("pck3d_150mm", "3DPCK@150mm", "{:.3f}"),
    ("auc_0_150mm", "AUC 0-150mm", "{:.3f}"),
    ("part_miou", "part mIoU", "{:.3f}"),
)

METHOD_TITLES = {"model": "evpose model", "mean_pose": "baseline: mean training pose",
                 "centroid_offsets": "baseline: event centroid + mean offsets"}


#: What each label rule means, in the words of a report.
LABEL_RULE_TEXT = {
    "mean": "mean: the mean pose of the samples inside the window",
    "end": "end: the pose at the window's end",
    "dhp19": "dhp19: NaN-mean of the Vicon samples from the previous window's end sample to this window's "
             "end sample, both included (end sample = round((last event - first sample) / period)); "
             "windows stop at the first one that ends past the last Vicon sample",
}


def describe_windows(window: str, num_events: int, label_rule: str, count_cameras=None) -> str:
    """One line naming the window rule, the cameras counted and the label rule."""
    if window == "count_synced":
        counted = "all cameras of each recording" if count_cameras is None else ", ".join(count_cameras)
        rule = (f"count_synced: a window closes every {num_events} x (number of counted cameras) events of the "
                f"merged stream of {counted} (DHP19: 7500 x 4 = 30000), every camera cut at the same times")
    else:
        rule = f"count: {num_events} events per camera, each camera on its own clock"
    return f"{rule}; labels: {LABEL_RULE_TEXT.get(label_rule, label_rule)}"


def _cell(v, fmt):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return fmt.format(v)


def summary_table(report: dict) -> str:
    """Markdown table: one row per method, one column per metric."""
    head = "| method | " + " | ".join(t for _, t, _ in SUMMARY_COLUMNS) + " |"
    lines = [head, "|" + " --- |" * (len(SUMMARY_COLUMNS) + 1)]
    for name, m in report["methods"].items():
        lines.append(
            f"| {METHOD_TITLES.get(name, name)} | " + " | ".join(_cell(m.get(k), f) for k, _, f in SUMMARY_COLUMNS) + " |"
        )
    return "\n".join(lines)


def to_markdown(report: dict, title: str = "evpose evaluation") -> str:
    """The whole report as Markdown: context, summary, multi-view, per-joint tables."""
    ctx = report.get("context", {})
    out = [f"# {title}", ""]
    for k, v in ctx.items():
        out.append(f"- {k}: {v}")
    out += ["", f"{report['num_windows']} test windows.", "", "## Summary", "", summary_table(report), ""]
    mv = report.get("multiview")
    if mv and mv.get("num_windows"):
        a, b = mv["cameras"]
        missing = mv.get("joints_without_both_views", 0)
        note = f"; {missing} labelled joints left out: no prediction in both views" if missing else ""
        synced = mv.get("window_rule") == "count_synced"
        kind = "synchronised windows, every one triangulated" if synced else "simultaneous windows"
        out += [f"## Multi-view 3D ({a} + {b}, {mv['num_windows']} {kind}{note})", ""]
        if mv.get("window_rule"):
            how = ("count_synced (all cameras cut at the same times)" if synced else
                   f"count (windows of {a}; {b}'s events over the same time span)")
            out += [f"Window rule: {how}; cameras: {a} + {b}"
                    + (f" (and all views: {', '.join(mv['triangulated_all']['cameras'])})" if "triangulated_all" in mv else "")
                    + f"; label rule: {mv.get('label_rule', '?')}.", ""]
        out += ["| 3D from | MPJPE 3D (mm) | PA-MPJPE (mm) | 3DPCK@150mm |", "| --- | --- | --- | --- |"]
        for key in ("triangulated", f"monocular_{a}", f"monocular_{b}", "triangulated_all"):
            m = mv.get(key)
            if m is None:
                continue
            if key == "triangulated":
                label = f"triangulation of the 2D predictions ({a}, {b})"
            elif key == "triangulated_all":
                label = f"triangulation of all views ({', '.join(m['cameras'])})"
            else:
                label = f"monocular 3D head, {key.split('_', 1)[1]}"
            out.append(f"| {label} | {_cell(m['mpjpe3d_mm'], '{:.1f}')} | {_cell(m['pa_mpjpe3d_mm'], '{:.1f}')} "
                       f"| {_cell(m['pck3d_150mm'], '{:.3f}')} |")
        out.append("")
    methods = report["methods"]
    out += ["## Per joint, 2D (px)", "",
            markdown_table(JOINT_NAMES, {METHOD_TITLES.get(k, k): v["per_joint_2d_px"] for k, v in methods.items()}), ""]
    cols3 = {METHOD_TITLES.get(k, k): v["per_joint_3d_mm"] for k, v in methods.items()}
    if mv and mv.get("num_windows"):
        cols3["triangulated"] = mv["triangulated"]["per_joint_3d_mm"]
    out += ["## Per joint, 3D (mm)", "", markdown_table(JOINT_NAMES, cols3, fmt="{:.1f}"), ""]
    return "\n".join(out)


def write_report(report: dict, out_dir, stem: str = "eval") -> tuple[Path, Path]:
    """Write ``<stem>.json`` and ``<stem>.md`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    j, m = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    j.write_text(json.dumps(report, indent=2, allow_nan=True) + "\n")
    m.write_text(to_markdown(report) + "\n")
    return j, m
