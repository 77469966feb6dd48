"""Figure creation, colours and small drawing helpers shared by the plots.

Figures are made with ``matplotlib.figure.Figure`` directly, not through pyplot: no global
state, no GUI backend needed (headless-safe everywhere), nothing leaks when a report writes
hundreds of PNGs, and Jupyter still displays a returned figure inline.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..types import NUM_PARTS, PART_NAMES, part_class

#: ON events red, OFF events blue (the usual DVS rendering).
ON_COLOUR = np.array([0.85, 0.15, 0.10])
OFF_COLOUR = np.array([0.10, 0.35, 0.85])
#: Predictions green, ground truth black (skeletons, arrows).
PRED_COLOUR = "limegreen"
TRUTH_COLOUR = "k"


#: One colour per part (PART_NAMES order): tab10, with its grey swapped for a dark blue so
#: that no part looks like the background.
PART_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#393b79", "#bcbd22", "#17becf",
)
#: Background / noise events (label -1).
BACKGROUND_COLOUR = (0.72, 0.72, 0.72)


def part_colours() -> np.ndarray:
    """(P + 1, 3) RGB: one colour per part, light grey for background (index P)."""
    cmap = colormaps["tab20"]
    cols = [to_rgb(PART_PALETTE[i]) if i < len(PART_PALETTE) else cmap(i % cmap.N)[:3] for i in range(NUM_PARTS)]
    return np.array(cols + [BACKGROUND_COLOUR])


def part_class_colours(labels) -> np.ndarray:
    """Colours of part labels: a part id in ``[0, P)``, background as -1 or P.

    Shapes:
        labels: (N,) int -> (N, 3)
    """
    lab = np.asarray(labels).astype(np.int64)
    if lab.size and (lab.min() < -1 or lab.max() > NUM_PARTS):
        raise ValueError(f"part labels must lie in [-1, {NUM_PARTS}], got {lab.min()}..{lab.max()}")
    return part_colours()[part_class(lab)]


def part_legend_handles(background: bool = True) -> list[Patch]:
    """Legend patches of the P parts (and the background)."""
    cols = part_colours()
    handles = [Patch(color=cols[i], label=n) for i, n in enumerate(PART_NAMES)]
    return handles + [Patch(color=cols[-1], label="background")] if background else handles


def polarity_legend_handles() -> list[Patch]:
    return [Patch(color=ON_COLOUR, label="ON"), Patch(color=OFF_COLOUR, label="OFF")]


def new_figure(nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (5.0, 4.0), **subplot_kw):
    """A Figure and a (nrows, ncols) array of axes, ``size`` per panel (inches).

    Args:
        subplot_kw: passed to every axis (e.g. ``projection="3d"``).
    """
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, subplot_kw=subplot_kw or None)
    return fig, axes


def fig_ax(ax, size: tuple[float, float] = (5.5, 4.2)):
    """``(figure, axis)``: a new one-panel figure, or the figure of the given axis."""
    if ax is None:
        fig, axes = new_figure(size=size)
        return fig, axes[0, 0]
    return ax.figure, ax


def to_numpy(a):
    """A tensor or array-like as a numpy array (detached, on the CPU)."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def check_sensor_size(sensor_size) -> tuple[int, int]:
    """``(H, W)`` as two positive ints, or ValueError naming the value."""
    try:
        h, w = (int(v) for v in to_numpy(sensor_size).reshape(-1))
    except (TypeError, ValueError):
        raise ValueError(f"sensor_size must be (H, W), got {sensor_size!r}") from None
    if h <= 0 or w <= 0:
        raise ValueError(f"sensor_size must be positive (H, W), got {sensor_size!r}")
    return h, w


def image_axes(ax, sensor_size=None, ticks: bool = False) -> None:
    """Pixel axes: y down, equal aspect, the whole sensor when ``sensor_size`` is given."""
    if sensor_size is not None:
        h, w = check_sensor_size(sensor_size)
        ax.set_xlim(-0.5, w - 0.5)
        ax.set_ylim(h - 0.5, -0.5)
    elif not ax.yaxis_inverted():
        ax.invert_yaxis()
    ax.set_aspect("equal")
    if not ticks:
        ax.set_xticks([])
        ax.set_yticks([])


def occupancy_rgb(on, off) -> np.ndarray:
    """RGB of ON/OFF occupancy (or probabilities) on white: ON red, OFF blue, both purple;
    the colour's strength is the larger of the two values, its hue their weighted mix.

    Shapes:
        on, off: (...) in [0, 1] -> (..., 3)
    """
    a = np.clip(np.asarray(on, np.float64), 0, 1)[..., None]
    b = np.clip(np.asarray(off, np.float64), 0, 1)[..., None]
    total = a + b
    hue = np.where(total > 0, (a * ON_COLOUR + b * OFF_COLOUR) / np.where(total > 0, total, 1.0), 1.0)
    strength = np.maximum(a, b)
    return (1 - strength) + strength * hue


def finish_panel(ax, title: str | None = None) -> None:
    """The common finish of a line-plot panel: y from 0, small ticks, light grid, legend,
    optional title."""
    ax.set_ylim(bottom=0)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=9)
