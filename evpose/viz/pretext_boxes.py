"""Pretext figures of the box masking: event inpainting and missing-event counts.

Both tasks share one corruption (boxes emptied of their events, gridded into query cells);
the figures show the boxes on the window, the per-cell truth and prediction as mosaics of
the boxes, and how well predictions separate or match the truth.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.patches import Rectangle
from matplotlib.patheffects import withStroke

from ._panels import sensor_size_of, window_and_outputs, zoom_to
from ._style import new_figure, to_numpy
from .events import event_frame_rgb
from .pretext_layout import average_precision, box_cells, corrupting_encoder

_BOX_COLOUR = "darkorange"


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


def _masked_box_frame(ax, data, cells, events, sensor_size, keys):
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
        removed_count = keys.num_removed.get(data)
        n_rm = None if removed_count is None else int(to_numpy(removed_count).sum())
        what = f"{len(pos)} nodes" + ("" if n_rm is None else f", {n_rm} events removed")
    for b, (x0, x1, y0, y1, *_t) in enumerate(cells.boxes):
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=_BOX_COLOUR, linewidth=0.9))
        ax.text(x0 - 0.5, y0 - 1.0, str(b + 1), fontsize=5, color=_BOX_COLOUR, va="bottom", clip_on=True)
    bx = np.concatenate([cells.boxes[:, 0], cells.boxes[:, 1]])
    by = np.concatenate([cells.boxes[:, 2], cells.boxes[:, 3]])
    zoom_to(ax, np.concatenate([np.asarray(xs, float), bx]), np.concatenate([np.asarray(ys, float), by]), sensor_size)
    ax.set_title(f"{cells.num_boxes} boxes of {cells.shape[0] * cells.cell_px} px x {cells.shape[2] * cells.cell_us / 1000:g} ms"
                 f"\n{what}", fontsize=8)


def plot_inpainting(data, out=None, task=None, events=None, index: int = 0, sensor_size=None):
    """Event inpainting: the window with its masked boxes, the true occupancy of the box
    cells and the predicted one (per box, x-y cells; values are the share of the cell's
    time slices that hold removed events, resp. the mean predicted probability), and the
    predicted probabilities of occupied vs empty cells. Returns the figure.

    Args:
        data: the corrupted graph of a window (the box keys, ``task.keys``), or a batch.
        out: the inpainting head's outputs (``occupancy_logit`` (Q,)), the module's whole
            output, or None (truth only).
        task: the :class:`~evpose.pretext.PretextTransform` that corrupted the window, or
            the task that made the boxes (their cell grid; see :func:`box_cells`).
        events: the window's original events (default: draw the graph's nodes instead).
        index: the window of a batch.
        sensor_size: (H, W) (default: the graph's ``sensor_hw``).

    Shapes:
        box query cells: (Q, 3), their counts: (Q,), out["occupancy_logit"]: (Q,),
        events: (N,) structured; Q = boxes x cells per box
    """
    if task is None:
        raise ValueError("plot_inpainting needs the task or the PretextTransform (the boxes' cell grid)")
    data, out = window_and_outputs(data, out, "inpaint", index, task)
    hw = sensor_size_of(data, sensor_size)
    cells = box_cells(data, task)
    keys = corrupting_encoder(task, "boxes").keys
    count = cells.per_box(keys.count.of(data))
    truth = (count > 0).mean(axis=3)
    ncols = 2 if out is None else 4
    fig, axes = new_figure(1, ncols, size=(4.2, 3.8))
    _masked_box_frame(axes[0, 0], data, cells, events, hw, keys)
    occ = (to_numpy(keys.count.of(data)) > 0).reshape(-1)
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
        ax.set_title(f"F1@0.5 {_f1(prob > 0.5, occ):.2f} (all occupied: {_f1(np.ones_like(occ), occ):.2f})\n"
                     f"AP {average_precision(prob, occ):.2f} (prior: {occ.mean():.2f})", fontsize=8)
    fig.suptitle("inpainting: predict where the removed events were", fontsize=10)
    return fig


def plot_counts(data, out=None, task=None, index: int = 0):
    """Missing-event counts: true and predicted counts per x-y cell of each box (summed
    over the box's time slices) and, per cell, predicted against true (the dashed line is
    the mean-count baseline). Returns the figure.

    Args:
        data: the corrupted graph of a window (the box keys, ``task.keys``), or a batch.
        out: the count head's outputs (``log_rate`` (Q,)), the module's whole output, or None.
        task: the :class:`~evpose.pretext.PretextTransform` that corrupted the window, or
            the task that made the boxes (see :func:`box_cells`).
        index: the window of a batch.

    Shapes:
        box query cells: (Q, 3), their counts: (Q,), out["log_rate"]: (Q,)
    """
    if task is None:
        raise ValueError("plot_counts needs the task or the PretextTransform (the boxes' cell grid)")
    data, out = window_and_outputs(data, out, "count", index, task)
    cells = box_cells(data, task)
    true_cells = to_numpy(corrupting_encoder(task, "boxes").keys.count.of(data)).astype(np.float64).reshape(-1)
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
        ax.set_xlim(-0.3, top * 1.3)
        ax.set_ylim(-0.3, max(top, pred_cells.max()) * 1.3)
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


__all__ = ["plot_counts", "plot_inpainting"]


def _f1(pred, truth) -> float:
    """:func:`evpose.metrics.binary.binary_f1`, imported on first use: torchmetrics imports
    pyplot, which evpose.viz must not load for its other figures."""
    from ..metrics.binary import binary_f1

    return binary_f1(pred, truth)
