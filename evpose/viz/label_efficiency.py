"""The label-efficiency curve: pose error against the share of labelled recordings."""

from __future__ import annotations

import math

from ._style import finish_panel, new_figure

#: Colour and legend text of each initialisation.
INIT_STYLE = {"scratch": ("tab:blue", "from scratch"), "pretrained": ("tab:orange", "pretrained")}
_TITLES = {"mpjpe2d_px": "MPJPE 2D (px)", "mpjpe3d_mm": "MPJPE 3D (mm)",
           "triangulated_mm": "3D triangulated (mm)", "part_miou": "part mIoU"}


def plot_label_efficiency(results: dict, metric: str = "mpjpe2d_px", title: str | None = None, ax=None):
    """Test error against label fraction (log axis), one line per initialisation, error
    bars one sample standard deviation over seeds (none where one seed was run), the
    mean-pose baseline as a dashed line, and the y axis from 0. Returns the figure.

    Args:
        results: :func:`evpose.evaluation.label_efficiency.sweep_results` (or its JSON):
            ``groups`` of ``{"init", "fraction", "metrics": {metric: {"mean", "std", "n"}}}``
            and ``baseline`` ``{metric: value}``.
        metric: ``mpjpe2d_px`` (default), ``mpjpe3d_mm``, ``triangulated_mm`` or ``part_miou``.
        title: axes title (default: none).
        ax: draw into this axes (default: a new figure).
    """
    groups = results.get("groups") or []
    if not groups:
        raise ValueError("no label-efficiency arms to plot (results['groups'] is empty)")
    if ax is None:
        fig, axes = new_figure(1, 1, size=(5.0, 3.6))
        ax = axes.ravel()[0]
    else:
        fig = ax.figure
    inits = list(dict.fromkeys(g["init"] for g in groups))
    for i, init in enumerate(inits):
        pts = sorted((g["fraction"], g["metrics"][metric]) for g in groups if g["init"] == init)
        xs = [float(f) for f, _ in pts]
        ys = [float(s["mean"]) for _, s in pts]
        err = [s["std"] if s["std"] is not None else 0.0 for _, s in pts]
        colour, label = INIT_STYLE.get(init, (f"C{i + 2}", init))
        n = sorted({s["n"] for _, s in pts})
        ax.errorbar(xs, ys, yerr=err, color=colour, marker="o", markersize=4, capsize=3, linewidth=1.4,
                    label=f"{label} (seeds per point: {'/'.join(map(str, n))})")
    base = (results.get("baseline") or {}).get(metric)
    if base is not None and math.isfinite(base):
        ax.axhline(base, color="0.35", linestyle="--", linewidth=1.0, label=f"mean training pose ({base:.2f})")
    fractions = sorted({g["fraction"] for g in groups})
    ax.set_xscale("log")
    ax.set_xticks(fractions)
    ax.set_xticklabels([f"{100 * f:.3g}%" for f in fractions])
    ax.minorticks_off()
    ax.set_xlabel("labelled training recordings", fontsize=8)
    ax.set_ylabel(f"test {_TITLES.get(metric, metric)}", fontsize=8)
    finish_panel(ax, title)
    return fig
