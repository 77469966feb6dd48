"""Events as images: frames coloured by polarity or body part, and x-y-t scatter plots."""

from __future__ import annotations

import numpy as np

from ..types import NUM_PARTS, part_class
from ._style import (
    OFF_COLOUR,
    ON_COLOUR,
    check_sensor_size,
    fig_ax,
    image_axes,
    new_figure,
    part_class_colours,
    part_legend_handles,
    polarity_legend_handles,
)

COLOR_BY = ("polarity", "part")


def check_events(events, sensor_size=None, fields=("x", "y", "p")) -> None:
    """ValueError unless ``events`` is a structured array with ``fields`` whose pixels lie
    on the (H, W) sensor."""
    names = getattr(getattr(events, "dtype", None), "names", None) or ()
    missing = [f for f in fields if f not in names]
    if missing:
        raise ValueError(f"events need the fields {list(fields)}; missing {missing} (fields: {list(names)})")
    if sensor_size is None or len(events) == 0:
        return
    h, w = check_sensor_size(sensor_size)
    for f, n in (("x", w), ("y", h)):
        v = events[f]
        if v.min() < 0 or v.max() >= n:
            raise ValueError(f"events field {f!r} spans {v.min()}..{v.max()}, outside a sensor of size {n} (H, W = {h}, {w})")


def event_frame_rgb(events: np.ndarray, sensor_size, color_by: str = "polarity") -> np.ndarray:
    """Render events to an RGB image on white.

    Args:
        events: structured events (t, x, y, p[, part]).
        sensor_size: (H, W).
        color_by: ``"polarity"`` (default): ON red, OFF blue, mixed pixels in between,
            the colour growing with the pixel's event count (saturating at the 95th
            percentile of the non-empty pixels); ``"part"``: each pixel takes the colour of
            its most frequent part label (grey: background or noise).

    Shapes:
        events: (N,), sensor_size (H, W) -> (H, W, 3) float in [0, 1]
    """
    if color_by not in COLOR_BY:
        raise ValueError(f"unknown color_by {color_by!r}; valid: {', '.join(COLOR_BY)}")
    check_events(events, sensor_size, ("x", "y", "p", "part") if color_by == "part" else ("x", "y", "p"))
    H, W = check_sensor_size(sensor_size)
    img = np.ones((H, W, 3))
    if len(events) == 0:
        return img
    flat = events["y"].astype(np.int64) * W + events["x"].astype(np.int64)
    if color_by == "polarity":
        on = np.bincount(flat[events["p"] > 0], minlength=H * W).reshape(H, W).astype(float)
        off = np.bincount(flat[events["p"] <= 0], minlength=H * W).reshape(H, W).astype(float)
        tot = on + off
        nz = tot[tot > 0]
        scale = max(np.percentile(nz, 95), 1.0) if nz.size else 1.0
        strength = np.clip(tot / scale, 0, 1)[..., None]
        frac_on = np.divide(on, tot, out=np.zeros_like(on), where=tot > 0)[..., None]
        colour = frac_on * ON_COLOUR + (1 - frac_on) * OFF_COLOUR
        return (1 - strength) * img + strength * colour
    part = part_class(events["part"].astype(np.int64))
    counts = np.bincount(part * (H * W) + flat, minlength=(NUM_PARTS + 1) * H * W).reshape(NUM_PARTS + 1, H * W)
    any_ev = counts.sum(0) > 0
    best = counts.argmax(0)  # ties: the lowest part id
    out = img.reshape(-1, 3)
    out[any_ev] = part_class_colours(best[any_ev])
    return out.reshape(H, W, 3)


def plot_event_frame(events, sensor_size, color_by: str = "polarity", ax=None, title: str | None = None,
                     legend: bool = True):
    """An event frame (see :func:`event_frame_rgb`). Returns the figure.

    Args:
        events: structured events (t, x, y, p[, part]) of one window.
        sensor_size: (H, W).
        color_by: ``"polarity"`` or ``"part"`` (default polarity).
        ax: draw into this axis (default: a new figure).
        title: axis title (default: the number of events and the time span).
        legend: show the colour legend (default True).
    """
    fig, ax = fig_ax(ax)
    ax.imshow(event_frame_rgb(events, sensor_size, color_by), interpolation="nearest")
    image_axes(ax, sensor_size)
    ax.set_title(title if title is not None else _describe(events), fontsize=9)
    if legend:
        handles = part_legend_handles() if color_by == "part" else polarity_legend_handles()
        ax.legend(handles=handles, fontsize=6, loc="upper right", framealpha=0.7)
    return fig


def plot_events_xyt(events, color_by: str = "polarity", max_points: int = 20_000, ax=None, title: str | None = None,
                    seed: int = 0):
    """A 3D scatter of events in (x, t, y): time in milliseconds from the first event,
    image rows pointing down. Returns the figure.

    Args:
        events: structured events (t, x, y, p[, part]).
        color_by: ``"polarity"`` or ``"part"`` (default polarity).
        max_points: at most this many events drawn (a seeded random subset; default 20000).
        ax: a 3D axis to draw into (default: a new figure).
        title: axis title (default: number of events and time span).
        seed: seed of the subset.
    """
    if color_by not in COLOR_BY:
        raise ValueError(f"unknown color_by {color_by!r}; valid: {', '.join(COLOR_BY)}")
    check_events(events, None, ("t", "x", "y", "p", "part") if color_by == "part" else ("t", "x", "y", "p"))
    if ax is None:
        fig, axes = new_figure(size=(6, 5), projection="3d")
        ax = axes[0, 0]
    else:
        fig = ax.figure
    ev = events
    if len(ev) > max_points:
        ev = ev[np.sort(np.random.default_rng(seed).choice(len(ev), max_points, replace=False))]
    t_ms = (ev["t"] - (events["t"].min() if len(events) else 0)) / 1000.0
    if color_by == "polarity":
        c = np.where(ev["p"][:, None] > 0, ON_COLOUR, OFF_COLOUR)
    else:
        c = part_class_colours(ev["part"])
    ax.scatter(ev["x"], t_ms, ev["y"], c=c, s=1, depthshade=False)
    ax.set_xlabel("x (px)")
    ax.set_ylabel("t (ms)")
    ax.set_zlabel("y (px)")
    if not ax.zaxis_inverted():
        ax.invert_zaxis()
    ax.set_title(title if title is not None else _describe(events), fontsize=9)
    return fig


def _describe(events) -> str:
    if len(events) == 0:
        return "0 events"
    span = (int(events["t"].max()) - int(events["t"].min())) / 1000.0
    return f"{len(events)} events, {span:.1f} ms"


__all__ = ["check_events", "event_frame_rgb", "plot_event_frame", "plot_events_xyt"]
