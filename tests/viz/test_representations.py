"""TORE channel grids: one panel per channel, empty slots masked, ages on the colour bar."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evpose.representations import tore_upper_bound, tore_volume
from evpose.types import make_events
from evpose.viz import plot_tore

SENSOR = (6, 8)


def small_volume(k=3):
    # pixel (1, 2) has 4 ON events, pixel (5, 3) 2 OFF events, pixel (0, 0) one of each
    ev = make_events([10, 200, 3000, 40_000, 500, 9000, 100, 200], [1, 1, 1, 1, 5, 5, 0, 0], [2, 2, 2, 2, 3, 3, 0, 0],
                     [1, 1, 1, 1, 0, 0, 1, 0])
    return tore_volume(ev, 50_000, SENSOR, k=k)


def test_one_panel_per_channel_with_empty_slots_masked():
    vol = small_volume(k=3)
    fig = plot_tore(vol, title="t")
    image_axes = [ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]
    assert len(image_axes) == 6
    upper = tore_upper_bound()
    for c, ax in enumerate(image_axes):
        arr = ax.images[0].get_array()
        np.testing.assert_array_equal(np.ma.getmaskarray(arr), vol[c].numpy() >= upper * (1 - 1e-6))
        np.testing.assert_allclose(arr.filled(0), np.where(vol[c].numpy() >= upper * (1 - 1e-6), 0, vol[c].numpy()))
    # channel titles: ON slots on top, OFF below, with the pixels holding an event
    titles = [ax.get_title() for ax in image_axes]
    assert titles == ["ON #1 (2 px)", "ON #2 (1 px)", "ON #3 (1 px)", "OFF #1 (2 px)", "OFF #2 (1 px)", "OFF #3 (0 px)"]


def test_colour_bar_ticks_are_ages():
    fig = plot_tore(small_volume())
    cb_ax = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"][0]
    ticks = list(cb_ax.get_yticks())
    labels = [t.get_text() for t in cb_ax.get_yticklabels()]
    assert labels == ["<= 0.15 ms", "1 ms", "10 ms", "100 ms", "1 s", ">= 5 s"]
    np.testing.assert_allclose(ticks[1], math.log(1001) - math.log(151))
    np.testing.assert_allclose(ticks[-1], tore_upper_bound())


def test_normalized_volumes_and_crop():
    vol = small_volume()
    fig = plot_tore(vol / tore_upper_bound(), normalized=True, crop=(0, 3, 0, 4))
    first = fig.axes[0].images[0].get_array()
    assert first.shape == (3, 4)
    np.testing.assert_array_equal(np.ma.getmaskarray(first), (vol[0, :3, :4] >= tore_upper_bound() * (1 - 1e-6)).numpy())


def test_bad_volumes():
    with pytest.raises(ValueError, match="\\(2K, H, W\\)"):
        plot_tore(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="crop"):
        plot_tore(np.zeros((2, 4, 4)), crop=(4, 4, 0, 4))
