"""Markdown of label-efficiency results (:mod:`evpose.evaluation.label_efficiency`)."""

from __future__ import annotations

import math
from typing import Sequence

from .label_efficiency import METRICS


def _num(v, fmt: str) -> str:
    return "-" if v is None or not math.isfinite(v) else fmt.format(v)


def mean_std(summary: dict, fmt: str) -> str:
    """``mean ± std`` (``mean`` alone for one seed, ``-`` when not measured)."""
    m = _num(summary["mean"], fmt)
    return m if summary["std"] is None or m == "-" else f"{m} ± {fmt.format(summary['std'])}"


def labels_cell(group: dict) -> str:
    """``10% (4 of 42 recordings)``: the fraction and the labelled recordings it kept."""
    pct = f"{100 * group['fraction']:.3g}%"
    recs, of = group.get("recordings") or [], group.get("of_recordings")
    if not recs or of is None:
        return pct
    n = str(recs[0]) if len(recs) == 1 else "/".join(map(str, recs))
    return f"{pct} ({n} of {of} recordings)"


def _change_cell(change: dict, fmt: str, unit: str) -> str:
    rel = change["relative"]
    if not math.isfinite(rel):
        return "-"
    d = change["diff"]
    se = f" ± {fmt.format(change['se'])}" if change["se"] is not None else ""
    return f"{100 * rel:+.1f}% ({'+' if d >= 0 else ''}{fmt.format(d)}{se}{' ' + unit if unit else ''})"


_UNITS = {"mpjpe2d_px": "px", "mpjpe3d_mm": "mm", "triangulated_mm": "mm", "part_miou": ""}


def sweep_markdown(results: dict, context: Sequence[str] = ()) -> str:
    """The label-efficiency table (mean ± std over seeds per fraction and init), the change
    pretraining makes per fraction, the issue's checks and the mean-pose baseline.

    Args:
        results: :func:`~evpose.evaluation.label_efficiency.sweep_results`.
        context: lines stated above the tables (budgets, data, what was read back).
    """
    head = "| labels | init | seeds | " + " | ".join(t for _, t, _ in METRICS) + " |"
    lines = ["# Label efficiency", "", *(f"- {c}" for c in context), "", head, "|" + " --- |" * (len(METRICS) + 3)]
    for g in results["groups"]:
        cells = [mean_std(g["metrics"][k], f) for k, _, f in METRICS]
        lines.append(f"| {labels_cell(g)} | {g['init']} | {len(g['seeds'])} | " + " | ".join(cells) + " |")
    lines += ["", "Mean ± sample standard deviation over seeds; a seed draws both the labelled recordings "
              "and the training run."]
    if results["changes"]:
        lines += ["", "## Pretrained vs scratch", "",
                  "| labels | " + " | ".join(t for _, t, _ in METRICS) + " |", "|" + " --- |" * (len(METRICS) + 1)]
        for c in results["changes"]:
            cells = [_change_cell(c["metrics"][k], f, _UNITS[k]) for k, _, f in METRICS]
            lines.append(f"| {100 * c['fraction']:.3g}% | " + " | ".join(cells) + " |")
        lines += ["", "Change of the mean (pretrained - scratch) as a share of scratch's, with the difference "
                  "± its standard error where both have several seeds (paired by seed where both inits ran the same "
                  "seeds: the standard error of the mean per-seed difference); negative errors and positive mIoU "
                  "favour pretraining."]
    lines += ["", "## Checks", ""]
    lines += [f"- {c['text']}" for c in results["checks"].values()]
    b = results["baseline"]
    beat = sum(1 for g in results["groups"] if g["metrics"]["mpjpe2d_px"]["mean"] < b["mpjpe2d_px"])
    lines += ["", f"Baseline, mean training pose (fitted on every training recording's labels): MPJPE 2D "
              f"{_num(b['mpjpe2d_px'], '{:.2f}')} px, 3D {_num(b['mpjpe3d_mm'], '{:.1f}')} mm; "
              f"{beat} of the {len(results['groups'])} rows above have a lower mean 2D MPJPE."]
    return "\n".join(lines)


def ablation_markdown(rows: Sequence[dict], baseline: dict, context: Sequence[str] = ()) -> str:
    """The pretext ablation: one row per pretraining task set (and scratch), its metrics
    over seeds, the 2D change against scratch and what it says.

    Args:
        rows: :func:`~evpose.evaluation.label_efficiency.ablation`.
        baseline: the mean-pose baseline (``mpjpe2d_px``, ``mpjpe3d_mm``).
        context: lines stated above the table.
    """
    head = "| pretext tasks | seeds | " + " | ".join(t for _, t, _ in METRICS) + " | 2D vs scratch | effect |"
    lines = ["# Pretext ablation", "", *(f"- {c}" for c in context), "", head, "|" + " --- |" * (len(METRICS) + 4)]
    for r in rows:
        cells = [mean_std(r["metrics"][k], f) for k, _, f in METRICS]
        change = _change_cell(r["change_2d"], "{:.2f}", "px") if r["change_2d"] else ""
        lines.append(f"| {r['tasks']} | {len(r['seeds'])} | " + " | ".join(cells) + f" | {change} | {r['verdict']} |")
    lines += ["", "Mean ± sample standard deviation over seeds. Effect: helps / hurts when the 2D means differ "
              "by more than two standard errors of the difference (paired by seed where the seeds match), "
              "else no clear effect.",
              "", f"Baseline, mean training pose: MPJPE 2D {_num(baseline['mpjpe2d_px'], '{:.2f}')} px, "
              f"3D {_num(baseline['mpjpe3d_mm'], '{:.1f}')} mm."]
    return "\n".join(lines)
