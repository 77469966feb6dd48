"""Event frames and x-y-t scatter plots: pixel colours against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from evpose.types import NUM_PARTS, PART_NAMES, make_events
from evpose.viz import event_frame_rgb, part_colours, plot_event_frame, plot_events_xyt
from evpose.viz._style import OFF_COLOUR, ON_COLOUR
from tests.helpers import random_events

SENSOR = (4, 5)


def test_polarity_frame_colours_by_count_and_share():
    # pixel (x=2, y=1): 3 ON; (0, 0): 1 OFF; (4, 3): 1 ON + 1 OFF
    ev = make_events(np.arange(7), [2, 2, 2, 0, 4, 4, 3], [1, 1, 1, 0, 3, 3, 2], [1, 1, 1, 0, 1, 0, 1])
    img = event_frame_rgb(ev, SENSOR)
    assert img.shape == (4, 5, 3)
    scale = np.percentile([3, 1, 2, 1], 95)  # counts of the non-empty pixels
    np.testing.assert_allclose(img[1, 2], ON_COLOUR)  # 3 >= scale: saturated
    s1 = 1 / scale
    np.testing.assert_allclose(img[0, 0], (1 - s1) + s1 * OFF_COLOUR)
    s2 = 2 / scale
    np.testing.assert_allclose(img[3, 4], (1 - s2) + s2 * (ON_COLOUR + OFF_COLOUR) / 2)
    np.testing.assert_allclose(img[2, 3], (1 - s1) + s1 * ON_COLOUR)
    # every other pixel stays white
    touched = np.zeros((4, 5), bool)
    touched[[1, 0, 3, 2], [2, 0, 4, 3]] = True
    assert np.all(img[~touched] == 1.0)


def test_part_frame_takes_each_pixels_most_frequent_label(rng):
    ev = random_events(rng, 400, width=SENSOR[1], height=SENSOR[0])
    img = event_frame_rgb(ev, SENSOR, color_by="part")
    cols = part_colours()
    for y in range(SENSOR[0]):
        for x in range(SENSOR[1]):
            labels = ev["part"][(ev["x"] == x) & (ev["y"] == y)]
            if len(labels) == 0:
                np.testing.assert_array_equal(img[y, x], 1.0)
                continue
            cls = np.where(labels < 0, NUM_PARTS, labels)
            counts = np.bincount(cls, minlength=NUM_PARTS + 1)
            best = int(np.flatnonzero(counts == counts.max())[0])  # ties: lowest id
            np.testing.assert_allclose(img[y, x], cols[best])


def test_frames_of_no_events_are_white():
    ev = make_events([], [], [], [], part=[])
    assert np.all(event_frame_rgb(ev, SENSOR) == 1.0)
    assert np.all(event_frame_rgb(ev, SENSOR, color_by="part") == 1.0)


def test_bad_input_is_named():
    ev = make_events([0, 1], [1, 5], [0, 0], [1, 0])  # x = 5 on a 5-wide sensor
    with pytest.raises(ValueError, match="'x' spans 1..5"):
        event_frame_rgb(ev, SENSOR)
    ok = make_events([0], [1], [0], [1])
    with pytest.raises(ValueError, match="missing \\['part'\\]"):
        event_frame_rgb(ok, SENSOR, color_by="part")
    with pytest.raises(ValueError, match="unknown color_by 'time'"):
        event_frame_rgb(ok, SENSOR, color_by="time")
    with pytest.raises(ValueError, match="sensor_size"):
        event_frame_rgb(ok, (0, 5))


@pytest.mark.parametrize("color_by", ["polarity", "part"])
def test_plot_event_frame_returns_a_figure_with_the_frame(rng, color_by):
    ev = random_events(rng, 300, width=SENSOR[1], height=SENSOR[0])
    fig = plot_event_frame(ev, SENSOR, color_by=color_by)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.images[0].get_array(), event_frame_rgb(ev, SENSOR, color_by))
    assert ax.get_xlim() == (-0.5, 4.5) and ax.get_ylim() == (3.5, -0.5)  # y down
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == (["ON", "OFF"] if color_by == "polarity" else [*PART_NAMES, "background"])
    assert ax.get_title().startswith("300 events")


def test_plot_event_frame_draws_into_a_given_axis(rng):
    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    out = plot_event_frame(random_events(rng, 50, width=5, height=4), SENSOR, ax=ax2, title="mine", legend=False)
    assert out is fig and ax2.get_title() == "mine" and not ax1.images and ax2.get_legend() is None


def test_xyt_scatter_subsamples_and_orders_axes(rng):
    ev = random_events(rng, 500)
    fig = plot_events_xyt(ev, max_points=120, color_by="part")
    ax = fig.axes[0]
    assert ax.name == "3d"
    xs, ts, ys = ax.collections[0]._offsets3d
    assert len(xs) == 120
    assert set(np.asarray(xs)) <= set(ev["x"]) and np.asarray(ts).min() >= 0
    assert ax.get_xlabel() == "x (px)" and ax.get_ylabel() == "t (ms)" and ax.get_zlabel() == "y (px)"
    assert ax.zaxis_inverted()
    fig = plot_events_xyt(ev)
    assert len(fig.axes[0].collections[0]._offsets3d[0]) == 500
