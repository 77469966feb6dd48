"""Helpers shared by the pretext figures: one window's graph and outputs, its sensor size,
zooming an image axis onto the active region."""

from __future__ import annotations

import numpy as np

from ._style import image_axes, to_numpy
from .pretext_layout import output_levels, unbatch_window


def window_and_outputs(data, out, task: str, index: int, source=None):
    """``(data, out)`` of one window of a batch (or a single window); ``out`` may be the
    module's whole output ``{task: {...}}`` or the task's own ``{name: tensor}``; the
    outputs are cut by the levels the task found in ``source`` declares (:func:`output_levels`)."""
    if out is not None and task in out and isinstance(out[task], dict):
        out = out[task]
    data, cut = unbatch_window(data, None if out is None else {task: out}, index, output_levels(source, task))
    return data, (None if cut is None else cut[task])


def sensor_size_of(data, sensor_size) -> tuple[int, int]:
    """``sensor_size`` if given, else the graph's ``sensor_hw``."""
    if sensor_size is not None:
        return tuple(int(v) for v in sensor_size)
    hw = getattr(data, "sensor_hw", None)
    if hw is None:
        raise ValueError("no sensor size: give sensor_size or a graph with 'sensor_hw'")
    h, w = to_numpy(hw).reshape(-1)[:2]
    return int(h), int(w)


def zoom_to(ax, xs, ys, sensor_size, margin: float = 12.0) -> None:
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
