"""Where pretext targets and head outputs lie in a window: one window of a batch and its
outputs, the query cells of the masked boxes, the grid of the future occupancy.

:class:`~evpose.pretext.PretextTransform` writes every target onto the event graph
under the keys its encoders declare (``task.keys``); this module finds the task a figure
is about (:func:`find_task`), turns its targets back into boxes, cells and maps for plotting,
without re-running a corruption, and cuts a batch's outputs by the levels the heads declare.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..types import NODE_LEVEL, WINDOW_LEVEL
from ._style import to_numpy


def is_batch(data) -> bool:
    """Whether ``data`` is a PyG ``Batch`` (several windows)."""
    return hasattr(data, "get_example") and hasattr(data, "num_graphs") and getattr(data, "ptr", None) is not None


def _level_of(task: str, key: str, value, batch, levels) -> str:
    level = (levels or {}).get(task, {}).get(key)
    if level is not None:
        return level
    sizes = {NODE_LEVEL: batch.num_nodes, WINDOW_LEVEL: batch.num_graphs}
    for k in batch.keys():
        if k.endswith("_query_pos"):
            sizes[k] = batch[k].shape[0]
    found = [lv for lv, n in sizes.items() if n == value.shape[0]]
    if len(found) != 1:
        raise ValueError(f"output {task}/{key} of shape {tuple(value.shape)}: cannot tell what it is indexed by "
                         f"(sizes {sizes}); pass levels= as the heads declare them (PretextTransform.output_levels "
                         "or TaskModule.output_levels)")
    return found[0]


def unbatch_window(batch, outputs: dict | None = None, index: int = 0, levels: dict | None = None):
    """One window of a batch and its share of the head outputs.

    Args:
        batch: a PyG ``Batch`` made with ``follow_batch`` of the query keys (as the
            pretraining loader does), or a single ``Data`` (returned as is).
        outputs: ``{task: {name: tensor}}`` as ``TaskModule.forward`` returns (None: none).
        index: the window (graph) of the batch.
        levels: ``{task: {name: level}}``, what each output runs over as its head declares
            it (``TaskModule.output_levels``, ``PretextTransform.output_levels``); an
            output without one is placed by its size, when only one level has that size.

    Returns:
        ``(data, outputs)``: the window's ``Data`` and ``{task: {name: tensor}}`` cut to it
        (per-query outputs by ``<key>_ptr``, per-node by ``ptr``, per-graph by ``index``).
    """
    if not is_batch(batch):
        return batch, outputs
    B = int(batch.num_graphs)
    if not 0 <= index < B:
        raise IndexError(f"window index {index} out of range for a batch of {B}")
    data = batch.get_example(index)
    if outputs is None:
        return data, None
    cut: dict[str, dict] = {}
    for task, outs in outputs.items():
        cut[task] = {}
        for key, value in outs.items():
            level = _level_of(task, key, value, batch, levels)
            if level == WINDOW_LEVEL:
                cut[task][key] = value[index : index + 1]
                continue
            ptr_key = "ptr" if level == NODE_LEVEL else f"{level}_ptr"
            ptr = getattr(batch, ptr_key, None)
            if ptr is None:
                raise ValueError(f"the batch has no {ptr_key!r}: make it with follow_batch={[level]} "
                                 "(e.g. SkippingCollater(transform.query_keys))")
            cut[task][key] = value[int(ptr[index]) : int(ptr[index + 1])]
    return data, cut


def time_scale(data, default: float = 1e-3) -> float:
    """beta, pos units per microsecond along time, read off the graph's nodes
    (``pos[:, 2] = beta * (t - t0)``); ``default`` when no node lies after ``t0``."""
    t, t0, pos = getattr(data, "t", None), getattr(data, "t0", None), getattr(data, "pos", None)
    if t is None or t0 is None or pos is None or len(t) == 0:
        return default
    dt = to_numpy(t).astype(np.float64) - float(to_numpy(t0).reshape(-1)[0])
    i = int(np.argmax(dt))
    if dt[i] <= 0:
        return default
    return float(to_numpy(pos)[i, 2]) / dt[i]


@dataclass(frozen=True)
class BoxCells:
    """The masked boxes of a window and the grid of query cells in each.

    Attributes:
        boxes: (nb, 6) int64 bounds ``x0, x1, y0, y1, t0, t1`` (px, us; half-open).
        shape: cells per box ``(cx, cy, ct)`` along x, y, t.
        cell_px, cell_us: cell size.
    """

    boxes: np.ndarray
    shape: tuple[int, int, int]
    cell_px: int
    cell_us: int

    @property
    def num_boxes(self) -> int:
        return len(self.boxes)

    def per_box(self, values) -> np.ndarray:
        """Per-cell values (box-major, then x, y, t, as the queries) as (nb, cx, cy, ct)."""
        v = to_numpy(values).astype(np.float64)
        return v.reshape(self.num_boxes, *self.shape)

    def contains(self, events) -> np.ndarray:
        """(N,) bool: which events lie inside a box."""
        if len(events) == 0 or self.num_boxes == 0:
            return np.zeros(len(events), bool)
        x, y, t = (events[f].astype(np.int64)[:, None] for f in ("x", "y", "t"))
        b = self.boxes
        inside = (x >= b[:, 0]) & (x < b[:, 1]) & (y >= b[:, 2]) & (y < b[:, 3]) & (t >= b[:, 4]) & (t < b[:, 5])
        return inside.any(1)


def _tasks_in(source):
    """The tasks of a transform or module (``.tasks``), a dict or list of tasks, or None."""
    tasks = source if isinstance(source, (dict, list, tuple)) else getattr(source, "tasks", None)
    if isinstance(tasks, dict):
        return list(tasks.values())
    return None if tasks is None else list(tasks)


def find_task(source, name: str):
    """The task called ``name``: ``source`` itself, or among the tasks of ``source`` (a
    :class:`~evpose.pretext.PretextTransform`, a :class:`~evpose.modules.TaskModule`, or a
    dict/list of tasks).

    Raises:
        ValueError: no task of that name among them.
    """
    tasks = _tasks_in(source)
    if tasks is None:
        return source
    for t in tasks:
        if getattr(t, "name", None) == name:
            return t
    raise ValueError(f"no {name!r} task among {[getattr(t, 'name', t) for t in tasks]}")


def corrupting_encoder(source, key: str):
    """The encoder that made a corruption: that of ``source`` (a task, or an encoder itself),
    or, among the tasks of ``source`` (as :func:`find_task`), that of the first (in pipeline
    order) with ``corruption_key == key``, as the transform applies it."""
    tasks = _tasks_in(source)
    if tasks is None:
        return getattr(source, "encoder", source)
    encoders = sorted((t.encoder for t in tasks), key=lambda e: e.order)
    for e in encoders:
        if e.corruption_key == key:
            return e
    raise ValueError(f"no task with corruption {key!r} among {[getattr(t, 'name', t) for t in tasks]}")


def output_levels(source, name: str) -> dict[str, dict[str, str]]:
    """``{name: {output: level}}`` of the task ``name`` found in ``source`` (:func:`find_task`;
    empty when ``source`` is None or declares none)."""
    if source is None:
        return {}
    levels = getattr(find_task(source, name), "output_levels", None)
    return {name: dict(levels)} if isinstance(levels, dict) else {}


def box_cells(data, task) -> BoxCells:
    """The boxes of a window's box masking, recovered from its query cells.

    Args:
        data: one window's graph with the box query cells (and ``t``, ``t0``, ``pos`` for
            the time scale).
        task: the :class:`~evpose.pretext.PretextTransform` that corrupted the window (its
            first box-masking task made the boxes), or that task (an
            :class:`~evpose.pretext.InpaintTask` / :class:`~evpose.pretext.CountTask`), or
            its encoder (:class:`~evpose.pretext.BoxMasking`). With inpainting and counting
            both on, the boxes are inpainting's (the first): pass the transform to be sure.
    """
    masking = corrupting_encoder(task, "boxes")
    try:
        shape = tuple(int(v) for v in masking.cells_per_box)
        cell_px, cell_us = int(masking.cell_px), int(masking.cell_us)
        query = masking.keys.query
    except AttributeError:
        raise TypeError(f"expected an InpaintTask, CountTask or BoxMasking, got {type(task).__name__}") from None
    q = to_numpy(query.of(data)).astype(np.float64)
    per_box = int(np.prod(shape))
    if q.ndim != 2 or q.shape[1] != 3 or len(q) % per_box:
        raise ValueError(f"{query.name} of shape {q.shape} is not a whole number of boxes of {shape} cells: "
                         "is this the task that made the boxes? (pass the PretextTransform)")
    first = q.reshape(-1, per_box, 3)[:, 0]
    beta = time_scale(data)
    t0 = float(to_numpy(data.t0).reshape(-1)[0]) if getattr(data, "t0", None) is not None else 0.0
    x0 = np.rint(first[:, 0] - (cell_px - 1) / 2.0).astype(np.int64)
    y0 = np.rint(first[:, 1] - (cell_px - 1) / 2.0).astype(np.int64)
    tb0 = np.rint(t0 + first[:, 2] / beta - cell_us / 2.0).astype(np.int64)
    boxes = np.stack([x0, x0 + shape[0] * cell_px, y0, y0 + shape[1] * cell_px, tb0, tb0 + shape[2] * cell_us], 1)
    return BoxCells(boxes, shape, cell_px, cell_us)


@dataclass(frozen=True)
class FutureGrid:
    """The x-y grid of the future-occupancy cells: cell ``i * ny + j`` covers pixels
    ``[x0 + i c, x0 + (i + 1) c) x [y0 + j c, y0 + (j + 1) c)``; ``split`` is the split time
    in graph units (the queries' time coordinate)."""

    x0: int
    y0: int
    nx: int
    ny: int
    cell_px: int
    split: float

    def image(self, values) -> np.ndarray:
        """Per-cell values (Q, ...) as an image (ny, nx, ...), rows = y."""
        v = to_numpy(values)
        return np.swapaxes(v.reshape(self.nx, self.ny, *v.shape[1:]), 0, 1)

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """imshow extent (left, right, bottom, top) in pixel-centre coordinates, y down."""
        c = self.cell_px
        return (self.x0 - 0.5, self.x0 + self.nx * c - 0.5, self.y0 + self.ny * c - 0.5, self.y0 - 0.5)


def future_grid(query_pos, cell_px: int | None = None) -> FutureGrid:
    """The grid of a window's future query cells (``task.keys.query.of(data)`` of the future
    task; cell size read off the centres; give ``cell_px`` for a grid of a single cell).

    Shapes:
        query_pos: (Q, 3), Q = nx * ny
    """
    q = to_numpy(query_pos).astype(np.float64)
    if q.ndim != 2 or q.shape[1] != 3 or len(q) == 0:
        raise ValueError(f"the future query cells must be a non-empty (Q, 3), got shape {q.shape}")
    ux, uy = np.unique(q[:, 0]), np.unique(q[:, 1])
    nx, ny = len(ux), len(uy)
    if nx * ny != len(q):
        raise ValueError(f"the future query cells ({len(q)} points) are not a full {nx} x {ny} grid")
    if nx > 1:
        c = int(round(ux[1] - ux[0]))
    elif ny > 1:
        c = int(round(uy[1] - uy[0]))
    elif cell_px is not None:
        c = int(cell_px)
    else:
        raise ValueError("a single future cell: give cell_px")
    x0 = int(round(ux[0] - (c - 1) / 2.0))
    y0 = int(round(uy[0] - (c - 1) / 2.0))
    return FutureGrid(x0, y0, nx, ny, c, float(q[0, 2]))


def average_precision(score, truth) -> float:
    """Average precision of scores against boolean truth (mean precision at each positive,
    ties broken by order); NaN without positives."""
    s, t = np.asarray(score, np.float64).reshape(-1), np.asarray(truth, bool).reshape(-1)
    if not t.any():
        return float("nan")
    order = np.argsort(-s, kind="stable")
    hits = t[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision[hits].mean())


def as_tensor(v) -> torch.Tensor:
    return v if isinstance(v, torch.Tensor) else torch.as_tensor(np.asarray(v))
