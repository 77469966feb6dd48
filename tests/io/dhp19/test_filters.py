"""DHP19's map coordinates, hot-pixel counts and IR masks on hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from evpose.io.dhp19.filters import (
    DHP19_IR_MASKS,
    MAP_HEIGHT,
    DHP19Filters,
    count_pixels,
    in_sensor,
    ir_mask_keep,
    map_coordinates,
    pixel_index,
)


def test_map_coordinates_are_dhp19s_1_based_flipped_side_by_side():
    x = np.array([0, 345, 0, 345, 10], dtype=np.uint16)
    y = np.array([0, 259, 259, 0, 20], dtype=np.uint16)
    c = np.array([0, 0, 3, 3, 1], dtype=np.uint8)
    X, Y = map_coordinates(x, y, c)
    assert X.tolist() == [346, 1, 1384, 1039, 336 + 346]
    assert Y.tolist() == [260, 1, 1, 260, 240]
    assert pixel_index(X, Y).tolist() == [(Xi - 1) * MAP_HEIGHT + (Yi - 1) for Xi, Yi in zip(X.tolist(), Y.tolist())]
    # evpose's pixel of camera c is (X - 1 - 346 c, Y - 1) = (345 - x, 259 - y)
    assert (X - 1 - 346 * c.astype(int)).tolist() == (345 - x.astype(int)).tolist()


def test_in_sensor():
    assert in_sensor(np.array([345, 346, 0, 0]), np.array([259, 0, 260, 0]), np.array([3, 0, 0, 4])).tolist() == [
        True, False, False, False,
    ]


def test_pixel_counts_accumulate(rng):
    X, Y = rng.integers(1, 1385, 500), rng.integers(1, 261, 500)
    c = count_pixels(X[:200], Y[:200])
    c = count_pixels(X[200:], Y[200:], c)
    want = {}
    for a, b in zip(X.tolist(), Y.tolist()):
        want[(a, b)] = want.get((a, b), 0) + 1
    assert c.sum() == 500 and all(c[(a - 1) * 260 + b - 1] == n for (a, b), n in want.items())


def test_ir_masks_are_strict():
    (x0, x1, y0, y1), (u0, u1, v0, v1) = DHP19_IR_MASKS
    assert (x0, x1, y0, y1) == (780, 810, 115, 145) and (u0, u1, v0, v1) == (1252, 1259, 136, 144)
    X = np.array([780, 781, 809, 810, 795, 795, 795, 1253, 1258, 1259, 1255])
    Y = np.array([130, 130, 130, 130, 115, 116, 145, 140, 140, 140, 144])
    assert ir_mask_keep(X, Y).tolist() == [True, False, False, True, True, False, True, False, False, True, True]


def test_filter_settings():
    f = DHP19Filters(ir_mask_boxes=[[1, 2, 3, 4]])
    assert f.ir_mask_boxes == ((1, 2, 3, 4),) and f.to_dict()["ir_mask_boxes"] == [[1, 2, 3, 4]]
    assert DHP19Filters().to_dict()["hot_pixel_threshold"] == 10_000
    assert DHP19Filters().background_dt_us == 70_000 and not DHP19Filters().stamp_own_pixel
    none = DHP19Filters.none()
    assert not (none.hot_pixels or none.background_activity or none.ir_masks)
    with pytest.raises(ValueError, match="X_min, X_max"):
        DHP19Filters(ir_mask_boxes=[[1, 2, 3]])
    with pytest.raises(ValueError, match="hot_pixel_threshold"):
        DHP19Filters(hot_pixel_threshold=0)
