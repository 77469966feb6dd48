"""Pretext tasks at a glance: what was hidden, the truth, and the model's prediction.

Every function takes one window's corrupted graph (a ``Data`` from
:class:`~evpose.pretext.PretextTransform`, or a ``Batch`` and ``index``) and, optionally,
the head outputs (``PretrainModule.forward(batch)``: the whole ``{task: {...}}`` dict or
the task's own entry). Without outputs the figure shows the corruption and the targets
only. Titles give the window's metric next to the trivial baseline the task must beat.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.patches import Patch, Rectangle
from matplotlib.patheffects import withStroke
from scipy.spatial import cKDTree

from ..types import NUM_PARTS
from ._style import (
    PRED_COLOUR,
    TRUTH_COLOUR,
    image_axes,
    new_figure,
    occupancy_rgb,
    part_class_colours,
    part_legend_handles,
    polarity_legend_handles,
    to_numpy,
)
from .events import event_frame_rgb
from .pretext_layout import average_precision, binary_f1, box_cells, corrupting_task, future_grid, unbatch_window

_BOX_COLOUR = "darkorange"


def _window(data, out, task: str, index: int):
    """``(data, out)`` of one window; ``out`` may be the module's whole output or the task's."""
    if out is not None and task in out and isinstance(out[task], dict):
        out = out[task]
    data, cut = unbatch_window(data, None if out is None else {task: out}, index)
    return data, (None if cut is None else cut[task])


def _sensor_size(data, sensor_size):
    if sensor_size is not None:
        return tuple(int(v) for v in sensor_size)
    hw = getattr(data, "sensor_hw", None)
    if hw is None:
        raise ValueError("no sensor size: give sensor_size or a graph with 'sensor_hw'")
    h, w = to_numpy(hw).reshape(-1)[:2]
    return int(h), int(w)


def _zoom(ax, xs, ys, sensor_size, margin: float = 12.0) -> None:
    """Limit an image axis to the 1-99% extent of the points, widened by ``margin`` px."""
    h, w = sensor_size
    if len(xs) == 0:
        image_axes(ax, sensor_size)
        return
    x0, x1 = np.percentile(xs, [1, 99]) if len(xs) > 50 else (np.min(xs), np.max(xs))
    y0, y1 = np.percentile(ys, [1, 99]) if len(ys) > 50 else (np.min(ys), np.max(ys))
    ax.set_xlim(max(x0 - margin, -0.5), min(x1 + margin, w - 0.5))
    ax.set_ylim(min(y1 + margin, h - 0.5), max(y0 - margin, -0.5))
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def _mosaic(per_box: np.ndarray, cols: int | None = None) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Boxes of (cx, cy) cells tiled into one image (rows = y), one blank cell between
    tiles; returns the image (NaN between tiles) and each tile's top-left (row, col)."""
    nb, cx, cy = per_box.shape
    cols = cols or max(1, min(nb, math.ceil(math.sqrt(nb * (cy + 1) / (cx + 1)))))
    rows = math.ceil(nb / cols)
    img = np.full((rows * (cy + 1) - 1, cols * (cx + 1) - 1), np.nan)
    corners = []
    for b in range(nb):
        r, c = divmod(b, cols)
        r0, c0 = r * (cy + 1), c * (cx + 1)
        img[r0 : r0 + cy, c0 : c0 + cx] = per_box[b].T
        corners.append((r0, c0))
    return img, corners


def _show_mosaic(ax, fig, per_box, title, vmax, cmap="viridis", label=None):
    img, corners = _mosaic(per_box)
    im = ax.imshow(np.ma.masked_invalid(img), cmap=colormaps[cmap].with_extremes(bad="white"), vmin=0, vmax=vmax,
                   interpolation="nearest")
    for b, (r0, c0) in enumerate(corners):
        ax.text(c0 - 0.45, r0 - 0.45, str(b + 1), fontsize=5, va="top", ha="left", color="w",
                path_effects=[withStroke(linewidth=1.2, foreground="k")])
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=8)
    cb = fig.colorbar(im, ax=ax, shrink=0.8)
    if label:
        cb.set_label(label, fontsize=7)
    cb.ax.tick_params(labelsize=7)


def _masked_box_frame(ax, data, cells, events, sensor_size):
    """Events (or the graph's nodes) with the removed ones black and the boxes outlined."""
    pos = to_numpy(data.pos)
    if events is not None:
        hidden = cells.contains(events)
        img = event_frame_rgb(events[~hidden], sensor_size)
        removed = events[hidden]
        h, w = sensor_size
        flat = np.zeros(h * w, bool)
        flat[removed["y"].astype(np.int64) * w + removed["x"].astype(np.int64)] = True
        img.reshape(-1, 3)[flat] = 0.0
        ax.imshow(img, interpolation="nearest")
        xs, ys = events["x"], events["y"]
        what = f"{len(events) - len(removed)} events shown, {len(removed)} removed (black)"
    else:
        on = to_numpy(data.x)[:, 0] > 0 if getattr(data, "x", None) is not None else np.ones(len(pos), bool)
        ax.scatter(pos[:, 0], pos[:, 1], s=1.5, c=np.where(on, "tab:red", "tab:blue"))
        xs, ys = pos[:, 0], pos[:, 1]
        n_rm = int(to_numpy(data.box_num_removed).sum()) if getattr(data, "box_num_removed", None) is not None else None
        what = f"{len(pos)} nodes" + ("" if n_rm is None else f", {n_rm} events removed")
    for b, (x0, x1, y0, y1, *_t) in enumerate(cells.boxes):
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=_BOX_COLOUR, linewidth=0.9))
        ax.text(x0 - 0.5, y0 - 1.0, str(b + 1), fontsize=5, color=_BOX_COLOUR, va="bottom", clip_on=True)
    bx = np.concatenate([cells.boxes[:, 0], cells.boxes[:, 1]])
    by = np.concatenate([cells.boxes[:, 2], cells.boxes[:, 3]])
    _zoom(ax, np.concatenate([np.asarray(xs, float), bx]), np.concatenate([np.asarray(ys, float), by]), sensor_size)
    ax.set_title(f"{cells.num_boxes} boxes of {cells.shape[0] * cells.cell_px} px x {cells.shape[2] * cells.cell_us / 1000:g} ms"
                 f"\n{what}", fontsize=8)


def plot_inpainting(data, out=None, task=None, events=None, index: int = 0, sensor_size=None):
    """Event inpainting: the window with its masked boxes, the true occupancy of the box
    cells and the predicted one (per box, x-y cells; values are the share of the cell's
    time slices that hold removed events, resp. the mean predicted probability), and the
    predicted probabilities of occupied vs empty cells. Returns the figure.

    Args:
        data: the corrupted graph of a window (``box_query_pos``, ``box_count``), or a batch.
        out: the inpainting head's outputs (``occupancy_logit`` (Q,)), the module's whole
            output, or None (truth only).
        task: the :class:`~evpose.pretext.PretextTransform` that corrupted the window, or
            the task that made the boxes (their cell grid; see :func:`box_cells`).
        events: the window's original events (default: draw the graph's nodes instead).
        index: the window of a batch.
        sensor_size: (H, W) (default: the graph's ``sensor_hw``).
    """
    if task is None:
        raise ValueError("plot_inpainting needs the task or the PretextTransform (the boxes' cell grid)")
    data, out = _window(data, out, "inpaint", index)
    hw = _sensor_size(data, sensor_size)
    cells = box_cells(data, task)
    count = cells.per_box(data.box_count)
    truth = (count > 0).mean(axis=3)
    ncols = 2 if out is None else 4
    fig, axes = new_figure(1, ncols, size=(4.2, 3.8))
    _masked_box_frame(axes[0, 0], data, cells, events, hw)
    occ = (to_numpy(data.box_count) > 0).reshape(-1)
    _show_mosaic(axes[0, 1], fig, truth, f"truth: occupied share per cell\n({int(occ.sum())} of {occ.size} cells occupied)",
                 1.0, label="share of time slices")
    if out is not None:
        prob = torch.sigmoid(torch.as_tensor(to_numpy(out["occupancy_logit"]), dtype=torch.float64)).numpy().reshape(-1)
        _show_mosaic(axes[0, 2], fig, cells.per_box(prob).mean(axis=3), "prediction: mean occupancy probability", 1.0,
                     label="probability")
        ax = axes[0, 3]
        bins = np.linspace(0, 1, 21)
        ax.hist(prob[occ], bins=bins, alpha=0.6, color="tab:green", label=f"occupied ({int(occ.sum())})")
        ax.hist(prob[~occ], bins=bins, alpha=0.6, color="tab:gray", label=f"empty ({int((~occ).sum())})")
        ax.axvline(0.5, color="k", linewidth=0.8, linestyle=":")
        ax.set_xlabel("predicted occupancy probability", fontsize=8)
        ax.set_ylabel("cells", fontsize=8)
        ax.legend(fontsize=7)
        ax.set_title(f"F1@0.5 {binary_f1(prob > 0.5, occ):.2f} (all occupied: {binary_f1(np.ones_like(occ), occ):.2f})\n"
                     f"AP {average_precision(prob, occ):.2f} (prior: {occ.mean():.2f})", fontsize=8)
    fig.suptitle("inpainting: predict where the removed events were", fontsize=10)
    return fig


def plot_counts(data, out=None, task=None, index: int = 0):
    """Missing-event counts: true and predicted counts per x-y cell of each box (summed
    over the box's time slices) and, per cell, predicted against true (the dashed line is
    the mean-count baseline). Returns the figure.

    Args:
        data: the corrupted graph of a window (``box_query_pos``, ``box_count``), or a batch.
        out: the count head's outputs (``log_rate`` (Q,)), the module's whole output, or None.
        task: the :class:`~evpose.pretext.PretextTransform` that corrupted the window, or
            the task that made the boxes (see :func:`box_cells`).
        index: the window of a batch.
    """
    if task is None:
        raise ValueError("plot_counts needs the task or the PretextTransform (the boxes' cell grid)")
    data, out = _window(data, out, "count", index)
    cells = box_cells(data, task)
    true_cells = to_numpy(data.box_count).astype(np.float64).reshape(-1)
    truth = cells.per_box(true_cells).sum(axis=3)
    pred_cells = None
    if out is not None:
        pred_cells = np.exp(np.minimum(to_numpy(out["log_rate"]).astype(np.float64).reshape(-1), 20.0))
    vmax = max(float(truth.max()), float(np.percentile(cells.per_box(pred_cells).sum(3), 99)) if pred_cells is not None else 0.0, 1.0)
    fig, axes = new_figure(1, 3 if out is not None else 2, size=(4.2, 3.8))
    _show_mosaic(axes[0, 0], fig, truth, f"truth: removed events per cell\n({int(true_cells.sum())} in {cells.num_boxes} boxes)",
                 vmax, cmap="magma", label="events")
    if pred_cells is not None:
        _show_mosaic(axes[0, 1], fig, cells.per_box(pred_cells).sum(axis=3),
                     f"prediction: expected events per cell\n({pred_cells.sum():.0f} in total)", vmax, cmap="magma", label="events")
        ax = axes[0, 2]
        ax.scatter(true_cells, pred_cells, s=5, alpha=0.5, color="tab:purple")
        top = max(true_cells.max(), pred_cells.max(), 1.0)
        ax.plot([0, top], [0, top], color="k", linewidth=0.8, label="prediction = truth")
        ax.axhline(true_cells.mean(), color="tab:gray", linestyle="--", linewidth=0.8, label="mean-count baseline")
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_xlabel("true count per cell (query)", fontsize=8)
        ax.set_ylabel("predicted count", fontsize=8)
        ax.legend(fontsize=7)
        mae = np.abs(pred_cells - true_cells).mean()
        base = np.abs(true_cells.mean() - true_cells).mean()
        ax.set_title(f"MAE {mae:.2f} (mean baseline {base:.2f}) per cell", fontsize=8)
    else:
        ax = axes[0, 1]
        ax.hist(true_cells, bins=np.arange(true_cells.max() + 2) - 0.5, color="tab:purple")
        ax.set_xlabel("removed events per cell (query)", fontsize=8)
        ax.set_ylabel("cells", fontsize=8)
        ax.set_title(f"{(true_cells == 0).mean():.0%} of the cells are empty", fontsize=8)
    fig.suptitle("missing counts: predict how many events each cell lost", fontsize=10)
    return fig


def _nearest_shown(pos, shown, labels) -> np.ndarray:
    """Label of the nearest node whose label is shown, for every hidden node (-1: none shown)."""
    hidden = ~shown
    out = np.full(int(hidden.sum()), -1, dtype=np.int64)
    if shown.any() and hidden.any():
        _, idx = cKDTree(pos[shown]).query(pos[hidden], k=1)
        out = labels[shown][idx]
    return out


def plot_refill(data, out=None, index: int = 0, sensor_size=None):
    """Masked part refill, nodes in x-y: the true part of every node; what the model saw
    (shown labels coloured, hidden ones grey); the predicted part of the hidden nodes;
    right (green) and wrong (red) predictions. Returns the figure.

    Args:
        data: the corrupted graph of a window (``part``, ``refill_shown``), or a batch.
        out: the refill head's outputs (``part_logits`` (N, P + 1)), the module's whole
            output, or None (truth and input only).
        index: the window of a batch.
        sensor_size: (H, W) (default: the graph's ``sensor_hw``).
    """
    data, out = _window(data, out, "refill", index)
    hw = _sensor_size(data, sensor_size)
    if getattr(data, "part", None) is None or getattr(data, "refill_shown", None) is None:
        raise ValueError("plot_refill needs a graph with 'part' and 'refill_shown' (from PretextTransform with refill)")
    pos = to_numpy(data.pos).astype(np.float64)
    part = to_numpy(data.part).astype(np.int64)
    cls = np.where(part < 0, NUM_PARTS, part)
    shown = to_numpy(data.refill_shown).astype(bool)
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
        _zoom(ax, x, y, hw)
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
        data: the corrupted graph of a window (``future_query_pos``, ``future_occ``, ...), or a batch.
        out: the future head's outputs (``occupancy_logit`` (Q, 2), ``motion`` (1, P, 2)),
            the module's whole output, or None (truth only).
        task: the :class:`~evpose.pretext.PretextTransform` or its
            :class:`~evpose.pretext.FutureTask` (its ``past_share`` places the present slab;
            default None: 0.75).
        index: the window of a batch.
    """
    data, out = _window(data, out, "future", index)
    task = corrupting_task(task, "future") if task is not None else None
    grid = future_grid(data, getattr(task, "cell_px", None))
    pos = to_numpy(data.pos).astype(np.float64)
    truth = to_numpy(data.future_occ).astype(np.float64)
    present = to_numpy(data.future_present_occ).astype(np.float64)
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
        "present": (present, f"present slab ('future = present')\nF1 {binary_f1(present > 0.5, occ_truth):.2f}"),
        "truth": (truth, f"true future occupancy\n({int(occ_truth.any(1).sum())} of {len(truth)} cells)"),
    }
    if out is not None:
        prob = torch.sigmoid(torch.as_tensor(to_numpy(out["occupancy_logit"]), dtype=torch.float64)).numpy()
        if prob.shape != truth.shape:
            raise ValueError(f"future occupancy_logit of shape {prob.shape}, the targets are {truth.shape}")
        maps["prediction"] = (prob, f"predicted occupancy (probability)\nF1@0.5 {binary_f1(prob > 0.5, occ_truth):.2f}")
    for name, (values, title) in maps.items():
        ax = ax_of[name]
        ax.imshow(occupancy_rgb(grid.image(values[:, 0]), grid.image(values[:, 1])), extent=grid.extent,
                  interpolation="nearest")
        ax.set_title(title, fontsize=8)
    ax_of["truth"].legend(handles=polarity_legend_handles() + [Patch(color=occupancy_rgb(1, 1), label="both")],
                          fontsize=6, loc="lower left")

    ax = ax_of["motion"]
    part = to_numpy(data.part).astype(np.int64) if getattr(data, "part", None) is not None else None
    motion = to_numpy(data.future_motion).reshape(-1, 2) if getattr(data, "future_motion", None) is not None else None
    if part is None or motion is None:
        ax.text(0.5, 0.5, "no part labels: no motion targets", ha="center", va="center", transform=ax.transAxes)
        ax.set_title("part motion", fontsize=8)
    else:
        valid = to_numpy(data.future_motion_valid).reshape(-1).astype(bool)
        ax.scatter(pos[:, 0], pos[:, 1], s=1.5, color=part_class_colours(part), alpha=0.35)
        past_share = float(getattr(task, "past_share", 0.75))
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
