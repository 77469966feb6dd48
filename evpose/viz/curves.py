"""Training curves from a run's CSV logs (Lightning's CSVLogger ``metrics.csv``).

evpose logs ``<stage>/<task>/<metric>`` (stage train, val or test; Lightning adds ``_step``
/ ``_epoch`` to metrics logged both ways) and, next to each validation metric, the trivial
baselines it must beat (``<stage>/<task>/baseline_<metric>_<baseline>``). The curves put
a metric, its train/val versions and its baselines on one panel.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from ._style import finish_panel, new_figure

STAGES = ("train", "val", "test")
_STAGE_COLOURS = {"train": "tab:blue", "val": "tab:orange", "test": "tab:green"}
_BASELINE_COLOURS = ("0.35", "tab:brown", "tab:pink")
Series = list[tuple[float, float]]


def find_metrics_csv(path) -> Path:
    """``path`` itself, or the newest ``metrics.csv`` below a run folder."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.rglob("metrics.csv"), key=lambda p: p.stat().st_mtime)
        if not found:
            raise FileNotFoundError(f"{path}: no metrics.csv below this folder")
        return found[-1]
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    return path


def read_metrics_csv(path) -> dict[str, Series]:
    """``{metric: [(step, value), ...]}`` from a Lightning ``metrics.csv`` (or a run folder
    holding one); empty and non-numeric cells are skipped, rows without a step use the epoch."""
    path = find_metrics_csv(path)
    out: dict[str, Series] = {}
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or "step" not in reader.fieldnames and "epoch" not in reader.fieldnames:
            raise ValueError(f"{path}: not a Lightning metrics.csv (no 'step' or 'epoch' column; got {reader.fieldnames})")
        for row in reader:
            step = row.get("step") or row.get("epoch") or "0"
            for k, v in row.items():
                if k in ("step", "epoch") or v in (None, ""):
                    continue
                try:
                    val = float(v)
                except ValueError:
                    continue
                if math.isfinite(val):
                    out.setdefault(k, []).append((float(step), val))
    return out


def _split(name: str) -> tuple[str, str, str]:
    """``(stage, base, suffix)``: ``val/inpaint/f1`` -> ``("val", "inpaint/f1", "")``."""
    stage, _, rest = name.partition("/")
    if stage not in STAGES or not rest:
        return "", name, ""
    for suffix in ("_step", "_epoch"):
        if rest.endswith(suffix):
            return stage, rest[: -len(suffix)], suffix[1:]
    return stage, rest, ""


def group_metrics(series: dict[str, Series]) -> dict[str, dict[str, Series]]:
    """Panels of curves: ``{panel: {curve label: points}}``. A metric's train and val
    versions share a panel; a baseline ``<task>/baseline_<metric>_<name>`` joins the panel
    of ``<task>/<metric>``."""
    parsed = {name: _split(name) for name in series}
    bases = {base for _, base, _ in parsed.values()}
    panels: dict[str, dict[str, Series]] = {}
    for name, (stage, base, suffix) in parsed.items():
        head, _, leaf = base.rpartition("/")
        panel, label = base, stage or name
        if leaf.startswith("baseline_"):
            rest = leaf[len("baseline_"):]
            prefix = f"{head}/" if head else ""
            matches = [b for b in bases if b.startswith(prefix) and rest.startswith(b[len(prefix):] + "_")
                       and not b[len(prefix):].startswith("baseline_")]
            if matches:
                panel = max(matches, key=len)
                label = f"{stage} baseline: {rest[len(panel) - len(prefix) + 1:]}".strip()
        if suffix:
            label = f"{label} ({suffix})"
        panels.setdefault(panel, {})[label] = series[name]
    return panels


def _panel_order(name: str) -> tuple:
    parts = name.split("/")
    return (len(parts) > 1, parts[0], parts[-1] != "loss", name)


def plot_training_curves(log, keys=None, title: str | None = None, ncols: int = 3):
    """Training curves, one panel per metric: train per step (thin) and per epoch, val
    per epoch (markers), baselines dashed. Returns the figure.

    Args:
        log: a ``metrics.csv`` path, a run folder holding one (the newest), or the dict
            of :func:`read_metrics_csv`.
        keys: only panels whose name contains one of these strings (default: all).
        title: figure title (default: the file name when ``log`` is a path).
        ncols: panels per row (default 3).
    """
    if isinstance(log, dict):
        series, source = log, None
    else:
        source = find_metrics_csv(log)
        series = read_metrics_csv(source)
    panels = group_metrics(series)
    names = sorted((n for n in panels if keys is None or any(k in n for k in keys)), key=_panel_order)
    if not names:
        raise ValueError(f"no metrics to plot{'' if keys is None else f' matching {list(keys)}'}; available: {sorted(panels)}")
    ncols = min(ncols, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = new_figure(nrows, ncols, size=(3.4, 2.5))
    flat = axes.ravel()
    for ax, name in zip(flat, names):
        n_base = 0
        for label, pts in sorted(panels[name].items()):
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            base = "baseline" in label
            step = "(step)" in label
            if base:
                colour = _BASELINE_COLOURS[n_base % len(_BASELINE_COLOURS)]
                n_base += 1
            else:
                colour = _STAGE_COLOURS.get(label.split(" ")[0], None)
            ax.plot(xs, ys, label=label, color=colour, linewidth=0.8 if step else 1.3, alpha=0.5 if step else 1.0,
                    linestyle="--" if base else "-", marker=None if step or len(pts) > 60 else ".")
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("step", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    for ax in flat[len(names):]:
        ax.set_visible(False)
    if title or source is not None:
        fig.suptitle(title if title else str(source), fontsize=9)
    return fig


def read_learning_curve(path) -> dict[str, list[float]]:
    """Columns of a ``learning_curve.csv`` (see :class:`evpose.modules.LearningCurve`) as
    float lists."""
    path = Path(path)
    if path.is_dir():
        path = path / "learning_curve.csv"
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and "value" not in rows[0]:
        raise ValueError(f"{path}: not a learning_curve.csv (columns {list(rows[0])})")
    cols: dict[str, list[float]] = {}
    for row in rows:
        for k, v in row.items():
            cols.setdefault(k, []).append(float(v) if v not in (None, "") else float("nan"))
    return cols


def plot_learning_curve(runs, x: str = "train_minutes", ylabel: str = "validation MPJPE 2D (px)",
                        baseline_label: str = "mean training pose", title: str | None = None, ax=None):
    """Validation metric against training time for one or more runs, with the baseline as
    a dashed line (one line when the runs share it, else one per run). Returns the figure.

    Args:
        runs: ``{label: learning_curve.csv path, run folder, or the dict of
            :func:`read_learning_curve`}``.
        x: ``"train_minutes"`` (without validation time), ``"wall_minutes"`` or ``"step"``.
        ylabel, baseline_label, title: texts.
        ax: draw into this axes (default: a new figure).
    """
    if ax is None:
        fig, axes = new_figure(1, 1, size=(5.0, 3.4))
        ax = axes.ravel()[0]
    else:
        fig = ax.figure
    cols_of = {label: run if isinstance(run, dict) else read_learning_curve(run) for label, run in runs.items()}
    last_baseline = {}
    for label, cols in cols_of.items():
        base = [b for b in cols.get("baseline", []) if math.isfinite(b)]
        if base:
            last_baseline[label] = base[-1]
    shared = len(set(round(b, 6) for b in last_baseline.values())) <= 1
    drawn = False
    for i, (label, cols) in enumerate(cols_of.items()):
        colour = f"C{i}"
        ax.plot(cols.get(x, []), cols.get("value", []), marker=".", color=colour, label=label)
        if label not in last_baseline:
            continue
        b = last_baseline[label]
        if shared and not drawn:  # one line for runs that share their baseline
            ax.axhline(b, color="0.35", linestyle="--", linewidth=1.0, label=f"{baseline_label} ({b:.2f})")
            drawn = True
        elif not shared:
            ax.axhline(b, color=colour, linestyle="--", linewidth=1.0, label=f"{baseline_label} ({b:.2f}), {label}")
    ax.set_xlabel({"train_minutes": "training time (min, validation excluded)", "wall_minutes": "wall-clock time (min)",
                   "step": "step"}.get(x, x), fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    finish_panel(ax, title)
    return fig
