"""Label-efficiency results: per-arm figures from evaluation reports, their mean and spread
over seeds, the change pretraining makes, the issue's checks and the pretext ablation.

Pure functions of plain dicts (what ``evpose-label-efficiency`` writes to JSON). An *arm*
record is one fine-tuning run, evaluated::

    {"name": "pretrained_f0.1_s2", "init": "scratch" | "pretrained",
     "tasks": None | "all" | "inpaint" | ...,        # the pretraining's task set (its tag)
     "fraction": 0.1, "seed": 2, "recordings": 4, "of_recordings": 42, "steps": 1000,
     "metrics": {"mpjpe2d_px", "mpjpe3d_mm", "triangulated_mm", "part_miou"},
     "baseline": {"mpjpe2d_px", "mpjpe3d_mm"}}        # the mean training pose

Spread is the sample standard deviation over seeds (``ddof=1``; None for one seed). A seed
draws the labelled recordings, so two inits run with the same seeds form pairs: the change
pretraining makes is then measured per seed, and its standard error is that of the mean of
the paired differences, ``s_d / sqrt(n)`` (:func:`paired_difference`); otherwise that of a
difference of two independent means, ``sqrt(s_a^2 / n_a + s_b^2 / n_b)`` (:func:`difference`).
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

#: (key, column title, format) of the metrics of an arm; all but part mIoU: lower is better.
METRICS = (
    ("mpjpe2d_px", "MPJPE 2D (px)", "{:.2f}"),
    ("mpjpe3d_mm", "MPJPE 3D (mm)", "{:.1f}"),
    ("triangulated_mm", "3D triangulated cam2+cam3 (mm)", "{:.1f}"),
    ("part_miou", "part mIoU", "{:.3f}"),
)
NAN = float("nan")


def arm_metrics(report: dict) -> tuple[dict, dict]:
    """``(model metrics, mean-pose baseline)`` of an ``evpose-eval`` report: MPJPE 2D (px),
    monocular MPJPE 3D (mm), triangulated MPJPE 3D of the multi-view pair (mm; NaN without
    it) and part mIoU; the baseline's MPJPE 2D and 3D (NaN without it)."""
    model = report["methods"]["model"]
    tri = (report.get("multiview") or {}).get("triangulated") or {}
    metrics = {
        "mpjpe2d_px": float(model["mpjpe2d_px"]),
        "mpjpe3d_mm": float(model["mpjpe3d_mm"]),
        "triangulated_mm": float(tri.get("mpjpe3d_mm", NAN)),
        "part_miou": float(model.get("part_miou", NAN)),
    }
    base = report["methods"].get("mean_pose") or {}
    baseline = {"mpjpe2d_px": float(base.get("mpjpe2d_px", NAN)), "mpjpe3d_mm": float(base.get("mpjpe3d_mm", NAN))}
    return metrics, baseline


def summarize(values: Iterable[float]) -> dict:
    """``{"mean", "std", "n"}`` of some values: the mean, the sample standard deviation
    (``ddof=1``; None for fewer than two values) and their number. NaN values count (and
    make the mean NaN): a failed measurement is not quietly dropped."""
    v = [float(x) for x in values]
    if not v:
        return {"mean": NAN, "std": None, "n": 0}
    mean = sum(v) / len(v)
    std = math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else None
    return {"mean": mean, "std": std, "n": len(v)}


def difference(a: dict, b: dict) -> dict:
    """``b - a`` of two summaries: the difference of the means, its share of ``a``'s mean
    (``relative``) and its standard error (None unless both have a spread)."""
    d = b["mean"] - a["mean"]
    rel = d / a["mean"] if a["mean"] not in (0.0,) and math.isfinite(a["mean"]) else NAN
    se = None
    if a["std"] is not None and b["std"] is not None:
        se = math.sqrt(a["std"] ** 2 / a["n"] + b["std"] ** 2 / b["n"])
    return {"diff": d, "relative": rel, "se": se, "paired": False}


def paired_difference(a: dict, b: dict) -> dict:
    """``b - a`` of two sets of per-seed values (``{seed: value}``), paired by seed when
    both hold the same two or more seeds: the mean of the per-seed differences (equal to
    the difference of the means), its share of ``a``'s mean and the standard error of the
    mean difference, ``s_d / sqrt(n)``. Other seed sets fall back to :func:`difference` of
    the two summaries (independent samples).

    Returns:
        ``{"diff", "relative", "se", "paired"}``.
    """
    if set(a) != set(b) or len(a) < 2:
        return difference(summarize(a.values()), summarize(b.values()))
    seeds = sorted(a)
    d = summarize(b[k] - a[k] for k in seeds)
    mean_a = summarize(a[k] for k in seeds)["mean"]
    rel = d["mean"] / mean_a if mean_a != 0.0 and math.isfinite(mean_a) else NAN
    return {"diff": d["mean"], "relative": rel, "se": d["std"] / math.sqrt(d["n"]), "paired": True}


def group_arms(arms: Sequence[dict], by: Sequence[str] = ("init", "fraction")) -> list[dict]:
    """Arms with equal ``by`` fields pooled over seeds, in order of first appearance.

    Returns:
        ``[{**the by fields, "seeds", "recordings", "metrics": {key: summarize(...)},
        "values": {key: {seed: value}}}]``.
    """
    groups: dict[tuple, list[dict]] = {}
    for arm in arms:
        groups.setdefault(tuple(arm.get(k) for k in by), []).append(arm)
    out = []
    for key, members in groups.items():
        out.append({**dict(zip(by, key)), "seeds": [m["seed"] for m in members],
                    "recordings": sorted({m.get("recordings") for m in members if m.get("recordings") is not None}),
                    "of_recordings": members[0].get("of_recordings"),
                    "metrics": {k: summarize(m["metrics"][k] for m in members) for k, _, _ in METRICS},
                    "values": {k: {m["seed"]: float(m["metrics"][k]) for m in members} for k, _, _ in METRICS}})
    return out


def _find(groups: Sequence[dict], **fields) -> dict | None:
    for g in groups:
        if all(_same(g.get(k), v) for k, v in fields.items()):
            return g
    return None


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(float(a), float(b), rel_tol=1e-9)
    return a == b


def pretraining_changes(groups: Sequence[dict]) -> list[dict]:
    """Per label fraction with both inits: every metric's :func:`paired_difference` of the
    pretrained arms from the scratch arms (negative = pretraining lowers it)."""
    out = []
    for s in groups:
        if s["init"] != "scratch":
            continue
        p = _find(groups, init="pretrained", fraction=s["fraction"])
        if p is not None:
            out.append({"fraction": s["fraction"],
                        "metrics": {k: paired_difference(s["values"][k], p["values"][k]) for k, _, _ in METRICS}})
    return out


def _pct(f: float) -> str:
    return f"{100 * f:.3g}%"


def issue_checks(groups: Sequence[dict], fraction: float = 0.1, cut: float = 0.2, within: float = 0.1) -> dict:
    """The two checks of the label-efficiency issue, each ``{"met": bool | None, "text"}``
    (None: an arm it needs was not run).

    - ``target``: pretrained + ``fraction`` labels has a mean 2D MPJPE at least ``cut``
      lower than scratch + ``fraction``, and a lower triangulated 3D MPJPE.
    - ``stretch``: pretrained + ``fraction`` is within ``within`` of scratch + 100% labels
      (mean 2D MPJPE at most ``(1 + within)`` times as large).
    """
    pct = _pct(fraction)
    s = _find(groups, init="scratch", fraction=fraction)
    p = _find(groups, init="pretrained", fraction=fraction)
    full = _find(groups, init="scratch", fraction=1.0)
    checks = {}
    if s is None or p is None:
        missing = "scratch" if s is None else "pretrained"
        checks["target"] = {"met": None, "text": f"target not measured: no {missing} arm with {pct} labels"}
    else:
        d2 = paired_difference(s["values"]["mpjpe2d_px"], p["values"]["mpjpe2d_px"])
        s2, p2 = s["metrics"]["mpjpe2d_px"]["mean"], p["metrics"]["mpjpe2d_px"]["mean"]
        st, pt = s["metrics"]["triangulated_mm"]["mean"], p["metrics"]["triangulated_mm"]["mean"]
        ok2d, ok3d = -d2["relative"] >= cut, pt < st
        met = bool(ok2d and ok3d)
        se = (f", {'paired ' if d2['paired'] else ''}standard error of the difference {d2['se']:.2f} px"
              if d2["se"] is not None else "")
        checks["target"] = {
            "met": met,
            "text": (f"target (pretrained + {pct} labels: 2D MPJPE at least {cut:.0%} lower than scratch + {pct}, "
                     f"and lower triangulated 3D): **{'met' if met else 'not met'}**. "
                     f"2D {p2:.2f} vs {s2:.2f} px ({100 * d2['relative']:+.1f}%, n = {p['metrics']['mpjpe2d_px']['n']} "
                     f"and {s['metrics']['mpjpe2d_px']['n']} seeds{se}): {'met' if ok2d else 'not met'}; "
                     f"triangulated 3D {pt:.1f} vs {st:.1f} mm: {'lower' if ok3d else 'not lower'}."),
            "relative_2d": d2["relative"], "se_2d_px": d2["se"],
        }
    if p is None or full is None:
        missing = "pretrained arm with " + pct if p is None else "scratch arm with 100%"
        checks["stretch"] = {"met": None, "text": f"stretch goal not measured: no {missing} labels"}
    else:
        p2, f2 = p["metrics"]["mpjpe2d_px"]["mean"], full["metrics"]["mpjpe2d_px"]["mean"]
        rel = p2 / f2 - 1.0
        met = bool(rel <= within)
        checks["stretch"] = {
            "met": met,
            "text": (f"stretch goal (pretrained + {pct} labels within {within:.0%} of scratch + 100% in 2D MPJPE): "
                     f"**{'met' if met else 'not met'}**: {p2:.2f} vs {f2:.2f} px ({100 * rel:+.1f}%)."),
            "relative_2d": rel,
        }
    return checks


def verdict(change: dict) -> str:
    """What a 2D MPJPE :func:`difference` from scratch says: ``helps`` / ``hurts`` when the
    means differ by more than two standard errors, ``no clear effect`` otherwise, and only
    ``lower`` / ``higher`` when one seed leaves the spread unknown."""
    d, se = change["diff"], change["se"]
    if not math.isfinite(d):
        return "not measured"
    if se is None:
        return ("lower" if d < 0 else "higher") + " (one seed: spread unknown)"
    if abs(d) > 2 * se:
        return "helps" if d < 0 else "hurts"
    return "no clear effect (within 2 standard errors)"


def ablation(arms: Sequence[dict]) -> list[dict]:
    """Rows of the pretext ablation: one per task set (scratch first as ``none``), each
    with its metrics over seeds and, against scratch, the 2D change and :func:`verdict`."""
    groups = group_arms(arms, by=("init", "tasks"))
    scratch = _find(groups, init="scratch")
    rows = []
    for g in sorted(groups, key=lambda g: g["init"] != "scratch"):
        row = {"tasks": "none (scratch)" if g["init"] == "scratch" else g["tasks"], "seeds": g["seeds"],
               "metrics": g["metrics"], "change_2d": None, "verdict": ""}
        if g is not scratch and scratch is not None:
            row["change_2d"] = paired_difference(scratch["values"]["mpjpe2d_px"], g["values"]["mpjpe2d_px"])
            row["verdict"] = verdict(row["change_2d"])
        rows.append(row)
    return rows


def mean_pose_baseline(arms: Sequence[dict]) -> dict:
    """The mean-pose baseline of the arms' evaluations (the same test windows and training
    windows for every arm, so one figure; the first arm's)."""
    for arm in arms:
        if arm.get("baseline"):
            return dict(arm["baseline"])
    return {"mpjpe2d_px": NAN, "mpjpe3d_mm": NAN}


def sweep_results(arms: Sequence[dict], check_fraction: float = 0.1, cut: float = 0.2, within: float = 0.1) -> dict:
    """Everything the label-efficiency table and figure show, from the arm records.

    Returns:
        ``{"groups"`` (per label fraction and init, by fraction, scratch first),
        ``"changes"`` (:func:`pretraining_changes`), ``"checks"`` (:func:`issue_checks`),
        ``"baseline"`` (:func:`mean_pose_baseline`)``}``.
    """
    groups = sorted(group_arms(arms), key=lambda g: (g["fraction"], g["init"] != "scratch"))
    return {"groups": groups, "changes": pretraining_changes(groups),
            "checks": issue_checks(groups, check_fraction, cut, within), "baseline": mean_pose_baseline(arms)}
