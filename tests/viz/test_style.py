"""Colours: part palette, occupancy mixing, sensor sizes."""

from __future__ import annotations

import numpy as np
import pytest

from evpose.types import NUM_PARTS
from evpose.viz import occupancy_rgb, part_colours
from evpose.viz._style import OFF_COLOUR, ON_COLOUR, check_sensor_size, part_class_colours


def test_part_colours_are_distinct_and_background_is_last():
    cols = part_colours()
    assert cols.shape == (NUM_PARTS + 1, 3)
    dist = np.linalg.norm(cols[:, None] - cols[None], axis=-1)
    assert dist[~np.eye(len(cols), dtype=bool)].min() > 0.15  # no two parts (or a part and the background) alike
    np.testing.assert_allclose(part_class_colours([-1, NUM_PARTS, 0]), cols[[NUM_PARTS, NUM_PARTS, 0]])
    with pytest.raises(ValueError, match="part labels must lie in"):
        part_class_colours([NUM_PARTS + 1])


def test_occupancy_colours():
    rgb = occupancy_rgb(np.array([1.0, 0.0, 1.0, 0.0, 0.5]), np.array([0.0, 1.0, 1.0, 0.0, 0.0]))
    np.testing.assert_allclose(rgb[0], ON_COLOUR)
    np.testing.assert_allclose(rgb[1], OFF_COLOUR)
    np.testing.assert_allclose(rgb[2], (ON_COLOUR + OFF_COLOUR) / 2)
    np.testing.assert_allclose(rgb[3], 1.0)
    np.testing.assert_allclose(rgb[4], 0.5 + 0.5 * ON_COLOUR)
    assert occupancy_rgb(np.zeros((2, 3)), np.ones((2, 3))).shape == (2, 3, 3)


def test_sensor_sizes():
    assert check_sensor_size((260, 346)) == (260, 346)
    assert check_sensor_size(np.array([[4, 5]])) == (4, 5)
    for bad in ((0, 5), (1, 2, 3), "x"):
        with pytest.raises(ValueError, match="sensor_size"):
            check_sensor_size(bad)
