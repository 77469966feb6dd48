"""Pretext tasks at a glance: what was hidden, the truth, and the model's prediction.

Every function takes one window's corrupted graph (a ``Data`` from
:class:`~evpose.pretext.PretextTransform`, or a ``Batch`` and ``index``) and, optionally,
the head outputs (``TaskModule.forward(batch)``: the whole ``{task: {...}}`` dict or
the task's own entry). Without outputs the figure shows the corruption and the targets
only. Titles give the window's metric next to the trivial baseline the task must beat.

The box-masking figures (inpainting, counts) live in :mod:`~evpose.viz.pretext_boxes` and
are re-exported here; part refill and future prediction are below.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from matplotlib.patches import Patch, Rectangle
from scipy.spatial import cKDTree

from ..types import NUM_PARTS, part_class
from ._panels import sensor_size_of, window_and_outputs, zoom_to
from ._style import (
    PRED_COLOUR,
    TRUTH_COLOUR,
    new_figure,
    occupancy_rgb,
    part_class_colours,
    part_legend_handles,
    polarity_legend_handles,
    to_numpy,
)
from .pretext_boxes import plot_counts, plot_inpainting  # re-exported: the four figures in one place
from .pretext_layout import corrupting_encoder, find_task, future_grid


def _nearest_shown(pos, shown, labels) -> np.ndarray:
    """Label of the nearest node whose label is shown, for every hidden node (-1: none shown)."""
    hidden = ~shown
    out = np.full(int(hidden.sum()), -1, dtype=np.int64)
    if shown.any() and hidden.any():
        _, idx = cKDTree(pos[shown]).query(pos[hidden], k=1)
        out = labels[shown][idx]
    return out


def plot_refill(data, out=None, task=None, index: int = 0, sensor_size=None):
    """Masked part refill, nodes in x-y: the true part of every node; what the model saw
    (shown labels coloured, hidden ones grey); the predicted part of the hidden nodes;
    right (green) and wrong (red) predictions. Returns the figure.

    Args:
        data: the corrupted graph of a window (``part`` and the refill keys, ``task.keys``), or a batch.
        out: the refill head's outputs (``part_logits`` (N, P + 1)), the module's whole
            output, or None (truth and input only).
        task: the :class:`~evpose.pretext.RefillTask`, or the
            :class:`~evpose.pretext.PretextTransform` or ``TaskModule`` holding it (its keys).
        index: the window of a batch.
        sensor_size: (H, W) (default: the graph's ``sensor_hw``).

    Shapes:
        data.pos: (N, 3), data.part: (N,), keys.shown: (N,), out["part_logits"]: (N, P + 1)
    """
    if task is None:
        raise ValueError("plot_refill needs the task, the PretextTransform or the TaskModule (its keys)")
    data, out = window_and_outputs(data, out, "refill", index, task)
    hw = sensor_size_of(data, sensor_size)
    shown_key = find_task(task, "refill").keys.shown
    if getattr(data, "part", None) is None or shown_key.get(data) is None:
        raise ValueError(f"plot_refill needs a graph with 'part' and {shown_key.name!r} (from PretextTransform with refill)")
    pos = to_numpy(data.pos).astype(np.float64)
    part = to_numpy(data.part).astype(np.int64)
    cls = part_class(part)
    shown = to_numpy(shown_key.of(data)).astype(bool)
    hidden = ~shown
    x, y = pos[:, 0], pos[:, 1]
    fig, axes = new_figure(1, 4 if out is not None else 2, size=(3.6, 3.8))
    grey, hidden_colour = (0.86, 0.86, 0.86), "k"
    ax = axes[0, 0]
    ax.scatter(x, y, s=2, color=part_class_colours(cls))
    ax.set_title(f"true parts ({len(pos)} nodes)", fontsize=8)
    ax = axes[0, 1]
    ax.scatter(x[hidden], y[hidden], s=1, color=hidden_colour)
    ax.scatter(x[shown], y[shown], s=2, color=part_class_colours(cls[shown]))
    ax.set_title(f"input: {int(shown.sum())} labels shown, {int(hidden.sum())} hidden (black)", fontsize=8)
    axes[0, 0].legend(handles=part_legend_handles(), fontsize=5, loc="lower left", framealpha=0.7)
    if out is not None:
        logits = to_numpy(out["part_logits"])
        if logits.shape != (len(pos), NUM_PARTS + 1):
            raise ValueError(f"part_logits of shape {logits.shape} for {len(pos)} nodes and {NUM_PARTS + 1} classes")
        pred = logits.argmax(1)
        right = pred[hidden] == cls[hidden]
        near = _nearest_shown(pos[:, :3], shown, cls)
        majority = np.bincount(cls[hidden], minlength=NUM_PARTS + 1).max() / max(hidden.sum(), 1)
        ax = axes[0, 2]
        ax.scatter(x[shown], y[shown], s=2, color=grey)
        ax.scatter(x[hidden], y[hidden], s=2, color=part_class_colours(pred[hidden]))
        ax.set_title("predicted parts of the hidden nodes (shown: grey)", fontsize=8)
        ax = axes[0, 3]
        ax.scatter(x[shown], y[shown], s=2, color=grey)
        ax.scatter(x[hidden][right], y[hidden][right], s=2, color="tab:green", label="right")
        ax.scatter(x[hidden][~right], y[hidden][~right], s=3, color="tab:red", label="wrong")
        ax.legend(fontsize=7, loc="lower left")
        acc = right.mean() if right.size else float("nan")
        acc_near = (near == cls[hidden]).mean() if hidden.any() else float("nan")
        ax.set_title(f"accuracy {acc:.2f} (nearest shown label {acc_near:.2f}, majority {majority:.2f})", fontsize=8)
    for ax in axes[0]:
        zoom_to(ax, x, y, hw)
    fig.suptitle("part refill: predict the hidden body-part labels", fontsize=10)
    return fig


def _part_centres(pos, part, t_lo, t_hi):
    """Mean (x, y) of each part's nodes with ``t_lo <= pos_t < t_hi`` (NaN: none)."""
    sel = (part >= 0) & (pos[:, 2] >= t_lo) & (pos[:, 2] < t_hi)
    if not sel.any():
        sel = part >= 0
    n = np.bincount(part[sel], minlength=NUM_PARTS)[:NUM_PARTS].astype(np.float64)
    cx = np.bincount(part[sel], weights=pos[sel, 0], minlength=NUM_PARTS)[:NUM_PARTS]
    cy = np.bincount(part[sel], weights=pos[sel, 1], minlength=NUM_PARTS)[:NUM_PARTS]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.stack([cx / n, cy / n], 1)


def _nice_scale(longest: float, target: float = 30.0) -> float:
    """A 1-2-5 factor that makes the longest arrow about ``target`` px (at least 1)."""
    if not longest > 0:
        return 1.0
    raw = target / longest
    if raw <= 1:
        return 1.0
    e = 10 ** math.floor(math.log10(raw))
    return max(m * e for m in (1, 2, 5) if m * e <= raw)


def plot_future(data, out=None, task=None, index: int = 0):
    """Future prediction: the past events the model saw (nodes, by time); the present
    slab's occupancy (the "future = present" baseline); the true future occupancy; the
    predicted one (ON red, OFF blue, both dark); and per body part its motion from the
    present to the future slab, true (black) and predicted (green) arrows at the part's
    centre. Returns the figure.

    Args:
        data: the corrupted graph of a window (the future keys, ``task.keys``), or a batch.
        out: the future head's outputs (``occupancy_logit`` (Q, 2), ``motion`` (1, P, 2)),
            the module's whole output, or None (truth only).
        task: the :class:`~evpose.pretext.FutureTask`, or the
            :class:`~evpose.pretext.PretextTransform` or ``TaskModule`` holding it (its
            keys; its ``past_share`` places the present slab).
        index: the window of a batch.

    Shapes:
        keys.query: (Q, 3) on an nx x ny grid, keys.occ and keys.present_occ: (Q, 2),
        keys.motion: (1, P, 2), keys.motion_valid: (1, P), out["occupancy_logit"]: (Q, 2),
        out["motion"]: (1, P, 2)
    """
    if task is None:
        raise ValueError("plot_future needs the task, the PretextTransform or the TaskModule (its keys and grid)")
    data, out = window_and_outputs(data, out, "future", index, task)
    split = corrupting_encoder(task, "future")
    keys = split.keys
    grid = future_grid(keys.query.of(data), split.cell_px)
    pos = to_numpy(data.pos).astype(np.float64)
    truth = to_numpy(keys.occ.of(data)).astype(np.float64)
    present = to_numpy(keys.present_occ.of(data)).astype(np.float64)
    panels = ["past", "present", "truth"] + (["prediction"] if out is not None else []) + ["motion"]
    fig, axes = new_figure(1, len(panels), size=(3.4, 3.6))
    ax_of = dict(zip(panels, axes[0]))
    c = grid.cell_px
    region = Rectangle((grid.x0 - 0.5, grid.y0 - 0.5), grid.nx * c, grid.ny * c, fill=False, edgecolor="k",
                       linewidth=0.6, linestyle=":")

    ax = ax_of["past"]
    order = np.argsort(pos[:, 2])
    ax.scatter(pos[order, 0], pos[order, 1], s=1.5, c=pos[order, 2], cmap="viridis")
    ax.add_patch(region)
    ax.set_title(f"past: {len(pos)} nodes (colour: time)", fontsize=8)

    occ_truth = truth > 0.5
    maps = {
        "present": (present, f"present slab ('future = present')\nF1 {_f1(present > 0.5, occ_truth):.2f}"),
        "truth": (truth, f"true future occupancy\n({int(occ_truth.any(1).sum())} of {len(truth)} cells)"),
    }
    if out is not None:
        prob = torch.sigmoid(torch.as_tensor(to_numpy(out["occupancy_logit"]), dtype=torch.float64)).numpy()
        if prob.shape != truth.shape:
            raise ValueError(f"future occupancy_logit of shape {prob.shape}, the targets are {truth.shape}")
        maps["prediction"] = (prob, f"predicted occupancy (probability)\nF1@0.5 {_f1(prob > 0.5, occ_truth):.2f}")
    for name, (values, title) in maps.items():
        ax = ax_of[name]
        ax.imshow(occupancy_rgb(grid.image(values[:, 0]), grid.image(values[:, 1])), extent=grid.extent,
                  interpolation="nearest")
        ax.set_title(title, fontsize=8)
    ax_of["truth"].legend(handles=polarity_legend_handles() + [Patch(color=occupancy_rgb(1, 1), label="both")],
                          fontsize=6, loc="lower left")

    ax = ax_of["motion"]
    part = to_numpy(data.part).astype(np.int64) if getattr(data, "part", None) is not None else None
    motion = keys.motion.get(data)
    motion = None if motion is None else to_numpy(motion).reshape(-1, 2)
    if part is None or motion is None:
        ax.text(0.5, 0.5, "no part labels: no motion targets", ha="center", va="center", transform=ax.transAxes)
        ax.set_title("part motion", fontsize=8)
    else:
        valid = to_numpy(keys.motion_valid.of(data)).reshape(-1).astype(bool)
        ax.scatter(pos[:, 0], pos[:, 1], s=1.5, color=part_class_colours(part), alpha=0.35)
        past_share = split.past_share
        t_first = pos[:, 2].min() if len(pos) else 0.0
        slab = (grid.split - t_first) * (1 - past_share) / past_share
        centres = _part_centres(pos, part, grid.split - slab, grid.split)
        arrows = [(motion, TRUTH_COLOUR, "truth")]
        if out is not None:
            arrows.append((to_numpy(out["motion"]).reshape(-1, 2), PRED_COLOUR, "prediction"))
        ok = valid & np.isfinite(centres).all(1)
        longest = max((np.linalg.norm(m[ok], axis=1).max() if ok.any() else 0.0) for m, *_ in arrows)
        s = _nice_scale(longest)
        for m, col, lab in arrows:
            ax.quiver(centres[ok, 0], centres[ok, 1], s * m[ok, 0], s * m[ok, 1], angles="xy", scale_units="xy", scale=1,
                      color=col, width=0.012, label=lab, zorder=4)
        title = f"part motion, arrows x{s:g} ({int(ok.sum())} of {len(valid)} parts)"
        if out is not None and ok.any():
            epe = np.linalg.norm(arrows[1][0][ok] - motion[ok], axis=1).mean()
            title += f"\nEPE {epe:.2f} px (zero motion {np.linalg.norm(motion[ok], axis=1).mean():.2f} px)"
        ax.set_title(title, fontsize=8)
        if ok.any():
            ax.legend(fontsize=6, loc="lower left")
    for ax in axes[0]:
        ax.set_xlim(grid.extent[0], grid.extent[1])
        ax.set_ylim(grid.extent[2], grid.extent[3])
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("future: predict where the next events fire and how each part moves", fontsize=10)
    return fig


__all__ = ["plot_counts", "plot_future", "plot_inpainting", "plot_refill"]


def _f1(pred, truth) -> float:
    """:func:`evpose.metrics.binary.binary_f1`, imported on first use: torchmetrics imports
    pyplot, which evpose.viz must not load for its other figures."""
    from ..metrics.binary import binary_f1

    return binary_f1(pred, truth)
