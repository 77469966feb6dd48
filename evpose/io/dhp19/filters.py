"""DHP19's event filters and the coordinates they work in.

DHP19's MATLAB preprocessing puts the four cameras side by side in one map, after
flipping both axes, in MATLAB's 1-based coordinates::

    X = (346 - x) + camera * 346        1 .. 1384
    Y = 260 - y                         1 .. 260

with x, y, camera the raw address fields. In evpose's 0-based pixels of a camera,
``x' = 345 - x = X - 1 - 346 * camera`` and ``y' = 259 - y = Y - 1``. Its filters, in order:

1. hot pixels: every event of a pixel with ``hot_pixel_threshold`` (10000) events or
   more in the movement is dropped;
2. background activity (:class:`BackgroundActivityFilter`, ``dt`` = 70000 us), on that
   whole map: events at the right edge of one camera stamp the left edge of the next;
3. two infra-red masks (the Vicon strobes), strict inequalities in (X, Y).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

#: Columns and rows of one DAVIS346 of DHP19.
SENSOR_WIDTH, SENSOR_HEIGHT = 346, 260
NUM_CAMERAS = 4
#: DHP19's combined map (four cameras side by side).
MAP_WIDTH, MAP_HEIGHT = NUM_CAMERAS * SENSOR_WIDTH, SENSOR_HEIGHT
#: DHP19's infra-red masks as (X_min, X_max, Y_min, Y_max): events with
#: X_min < X < X_max and Y_min < Y < Y_max are dropped (1-based map coordinates).
DHP19_IR_MASKS: tuple[tuple[int, int, int, int], ...] = (
    (780, 810, 115, 145),
    (346 * 3 + 214, 346 * 3 + 221, 136, 144),
)


@dataclass(frozen=True)
class DHP19Filters:
    """Which of DHP19's filters to apply, with their parameters (defaults: DHP19's).

    Args:
        hot_pixels: drop hot pixels (default True).
        hot_pixel_threshold: events per pixel in the movement that make it hot (default 10000).
        background_activity: apply the background-activity filter (default True).
        background_dt_us: its time window in microseconds (default 70000).
        stamp_own_pixel: an event also stamps its own pixel (default False: its 8
            neighbours only; see :class:`BackgroundActivityFilter`).
        ir_masks: drop the events inside the infra-red masks (default True).
        ir_mask_boxes: the masks as (X_min, X_max, Y_min, Y_max), strict, 1-based
            (default :data:`DHP19_IR_MASKS`).
    """

    hot_pixels: bool = True
    hot_pixel_threshold: int = 10_000
    background_activity: bool = True
    background_dt_us: int = 70_000
    stamp_own_pixel: bool = False
    ir_masks: bool = True
    ir_mask_boxes: tuple[tuple[int, int, int, int], ...] = field(default=DHP19_IR_MASKS)

    def __post_init__(self):
        boxes = tuple(tuple(int(v) for v in b) for b in self.ir_mask_boxes)
        if any(len(b) != 4 for b in boxes):
            raise ValueError(f"ir_mask_boxes must hold (X_min, X_max, Y_min, Y_max) boxes, got {self.ir_mask_boxes}")
        object.__setattr__(self, "ir_mask_boxes", boxes)
        if self.hot_pixel_threshold < 1:
            raise ValueError(f"hot_pixel_threshold must be >= 1, got {self.hot_pixel_threshold}")
        if self.background_dt_us < 0:
            raise ValueError(f"background_dt_us must be >= 0, got {self.background_dt_us}")

    @classmethod
    def none(cls) -> "DHP19Filters":
        """No filtering at all."""
        return cls(hot_pixels=False, background_activity=False, ir_masks=False)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ir_mask_boxes"] = [list(b) for b in self.ir_mask_boxes]
        return d


def in_sensor(x: np.ndarray, y: np.ndarray, camera: np.ndarray) -> np.ndarray:
    """Raw address fields inside DHP19's four 346 x 260 sensors (DHP19 drops the others)."""
    return (x < SENSOR_WIDTH) & (y < SENSOR_HEIGHT) & (camera < NUM_CAMERAS)


def map_coordinates(x: np.ndarray, y: np.ndarray, camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DHP19's 1-based map coordinates (X, Y) of raw address fields (inside the sensors).

    Shapes:
        x, y, camera: (N,) -> X, Y: (N,) int64
    """
    X = (SENSOR_WIDTH - x.astype(np.int64)) + camera.astype(np.int64) * SENSOR_WIDTH
    Y = SENSOR_HEIGHT - y.astype(np.int64)
    return X, Y


def pixel_index(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Linear index of 1-based map coordinates, 0 .. MAP_WIDTH * MAP_HEIGHT - 1."""
    return (X - 1) * MAP_HEIGHT + (Y - 1)


def count_pixels(X: np.ndarray, Y: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
    """Add the events per pixel of the map to ``counts`` (a new zero array if None).

    Shapes:
        X, Y: (N,) -> counts: (MAP_WIDTH * MAP_HEIGHT,) int64
    """
    c = np.bincount(pixel_index(X, Y), minlength=MAP_WIDTH * MAP_HEIGHT)
    if counts is None:
        return c.astype(np.int64, copy=False)
    counts += c
    return counts


def ir_mask_keep(X: np.ndarray, Y: np.ndarray, boxes=DHP19_IR_MASKS) -> np.ndarray:
    """False for events strictly inside one of the masks.

    Shapes:
        X, Y: (N,) 1-based map coordinates -> (N,) bool
    """
    keep = np.ones(len(X), dtype=bool)
    for x0, x1, y0, y1 in boxes:
        keep &= ~((X > x0) & (X < x1) & (Y > y0) & (Y < y1))
    return keep
