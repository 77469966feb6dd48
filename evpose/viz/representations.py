"""TORE volumes as a grid of channel images."""

from __future__ import annotations

import math

import numpy as np
from matplotlib import colormaps

from ..representations.tore import MAX_DT, MIN_DT, tore_upper_bound
from ._style import new_figure, to_numpy

#: Ages (us) marked on the colour bar.
AGE_TICKS_US = (1e3, 1e4, 1e5, 1e6)


def _age_label(us: float) -> str:
    return f"{us / 1e6:g} s" if us >= 1e6 else f"{us / 1e3:g} ms"


def plot_tore(volume, title: str | None = None, normalized: bool = False, min_dt: float = MIN_DT,
              max_dt: float = MAX_DT, crop=None):
    """The 2K channels of a TORE volume: top row the ON buffer, bottom row the OFF one,
    most recent event first. Dark = a recent event, light = an old one, white = an empty
    slot (no event for ``max_dt``). The colour bar is labelled with event ages.

    Args:
        volume: a TORE volume (:func:`evpose.representations.tore_volume`).
        title: figure title.
        normalized: values were divided by the upper bound (graph node features with
            ``tore_normalize``; default False: raw log-ages).
        min_dt, max_dt: the volume's age bounds (us; defaults 150 us and 5 s).
        crop: ``(y0, y1, x0, x1)`` pixel window to show (default: the whole sensor).

    Shapes:
        volume: (2K, H, W)
    """
    v = to_numpy(volume).astype(np.float64)
    if v.ndim != 3 or v.shape[0] % 2 or v.shape[0] == 0:
        raise ValueError(f"a TORE volume is (2K, H, W), got shape {v.shape}")
    upper = tore_upper_bound(min_dt, max_dt)
    scale = upper if normalized else 1.0
    vmax = upper / scale
    if crop is not None:
        y0, y1, x0, x1 = (int(c) for c in crop)
        v = v[:, y0:y1, x0:x1]
        if v.size == 0:
            raise ValueError(f"crop {crop} leaves nothing of a {volume.shape} volume")
    K = v.shape[0] // 2
    cmap = colormaps["magma"].with_extremes(bad="white")
    empty = v >= vmax * (1 - 1e-6)
    fig, axes = new_figure(2, K, size=(2.6, 2.6 * v.shape[1] / v.shape[2] + 0.3))
    im = None
    for row, sign in enumerate(("ON", "OFF")):
        for k in range(K):
            ax = axes[row, k]
            c = row * K + k
            im = ax.imshow(np.ma.masked_array(v[c], empty[c]), cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{sign} #{k + 1} ({int((~empty[c]).sum())} px)", fontsize=8)
    cb = fig.colorbar(im, ax=axes, shrink=0.8, label="age of the event")
    ages = [a for a in AGE_TICKS_US if min_dt < a < max_dt]
    ticks = [(math.log1p(a) - math.log1p(min_dt)) / scale for a in ages]
    cb.set_ticks([0.0, *ticks, vmax], labels=[f"<= {_age_label(min_dt)}", *map(_age_label, ages), f">= {_age_label(max_dt)}"])
    if title:
        fig.suptitle(title)
    return fig
