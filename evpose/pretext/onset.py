"""Onset time (off by default): blank an xy rectangle for the whole window except a thin
early slice, predict when each blanked cell fires first.

Corruption: a ``rect_px`` rectangle centred on a random event; its events after the first
``slice_share`` of the window are removed. Targets per ``cell_px`` cell of the rectangle: the
time of its first removed event, as a share of the blanked time span (0 = at the end of the
slice, 1 = at the end of the window); cells without removed events are not scored.
Head: a query decoder at the cell centres (placed at the end of the slice).
Loss: L1. Metric: onset MAE in milliseconds. Baseline: the mean onset of the evaluation cells.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..models.heads import QueryDecoder
from ..tasks.base import WINDOW, Encoder, GraphFrame, Key, Keys, TaskHead
from .base import PretextTask
from .metrics import ConstantMeanMAE, MeanAbsError

_QUERY = "onset_query_pos"
#: What onset blanking writes on the graph.
ONSET_KEYS = Keys(
    query=Key.queries(_QUERY),  # (Q, 3) cell centres, at the end of the visible slice
    time=Key("onset_time", _QUERY),  # (Q,) first removed event, share of the blanked span
    valid=Key("onset_valid", _QUERY),  # (Q,) the cell lost an event (is scored)
    span_us=Key("onset_span_us", WINDOW),  # (1,) the blanked time span
)


class OnsetBlanking(Encoder):
    """Blank a rectangle after a visible slice (see the module docstring).

    Args:
        rect_px: blanked rectangle (width, height) in pixels.
        cell_px: query cell size (divides ``rect_px``).
        slice_share: share of the window duration kept visible at its start.
        min_events: windows with fewer events are skipped.
        k: nodes joined to each query cell (found in the transform).
    """

    keys = ONSET_KEYS
    corruption_key = "onset"
    order = 20
    refuses_windows = True

    def __init__(self, rect_px: Sequence[int] = (24, 24), cell_px: int = 4, slice_share: float = 0.1,
                 min_events: int = 200, k: int = 8):
        self.rect_px = tuple(int(v) for v in rect_px)
        self.cell_px = int(cell_px)
        if any(r % self.cell_px for r in self.rect_px):
            raise ValueError(f"cell_px {cell_px} must divide rect_px {rect_px}")
        if not 0.0 < slice_share < 1.0:
            raise ValueError(f"slice_share must be in (0, 1), got {slice_share}")
        self.slice_share, self.min_events, self.k = float(slice_share), int(min_events), int(k)

    def corrupt(self, events, frame: GraphFrame, sample, rng):
        n = len(events)
        if n < self.min_events:
            return None
        x, y, t = (events[f].astype(np.int64) for f in ("x", "y", "t"))
        t_first, t_end = int(t[0]), int(t[-1]) + 1
        t_slice = t_first + int(round(self.slice_share * (t_end - t_first)))
        span = max(t_end - t_slice, 1)
        a = int(rng.integers(n))
        rw, rh = self.rect_px
        x0 = int(np.clip(x[a] - rw // 2, 0, max(frame.width - rw, 0)))
        y0 = int(np.clip(y[a] - rh // 2, 0, max(frame.height - rh, 0)))
        in_rect = (x >= x0) & (x < x0 + rw) & (y >= y0) & (y < y0 + rh)
        removed = in_rect & (t >= t_slice)
        if not removed.any():
            return None
        c = self.cell_px
        nx, ny = rw // c, rh // c
        cell = ((x[removed] - x0) // c) * ny + (y[removed] - y0) // c
        first = np.full(nx * ny, np.iinfo(np.int64).max)
        np.minimum.at(first, cell, t[removed])
        valid = first != np.iinfo(np.int64).max
        onset = np.where(valid, (first - t_slice) / span, 0.0).astype(np.float32)
        gi, gj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
        qx = x0 + gi.ravel() * c + (c - 1) / 2.0
        qy = y0 + gj.ravel() * c + (c - 1) / 2.0
        targets = {
            "query_pos": frame.to_pos(qx, qy, np.full(qx.shape, float(t_slice))),
            "onset": onset,
            "valid": valid,
            "span_us": float(span),
        }
        return events[~removed], targets

    def attach(self, data, targets, rng, inputs):
        data[ONSET_KEYS.query.name] = torch.from_numpy(targets["query_pos"])
        data[ONSET_KEYS.time.name] = torch.from_numpy(targets["onset"])
        data[ONSET_KEYS.valid.name] = torch.from_numpy(targets["valid"])
        data[ONSET_KEYS.span_us.name] = torch.tensor([targets["span_us"]], dtype=torch.float32)
        return data


class OnsetHead(TaskHead):
    """The onset of each query cell (a share of the blanked span, in [0, 1]) from a query decoder.

    Args:
        channels: backbone width.
        encoder: the task's :class:`OnsetBlanking` (its cell size sets the decoder's scale).
    """

    outputs = {"onset": _QUERY}
    #: before checkpoint format 3 the head was its decoder (weights under ``heads.<task>.``)
    format2_prefix = "decoder."

    def __init__(self, channels: int, encoder: OnsetBlanking):
        super().__init__()
        self.decoder = QueryDecoder(channels, 1, k=encoder.k, scale=float(encoder.cell_px) * 2)

    def forward(self, features, batch):
        out = self.decode_queries(self.decoder, features, batch, ONSET_KEYS.query)
        return {"onset": torch.sigmoid(out[:, 0])}

    def loss(self, out, batch):
        valid = ONSET_KEYS.valid.of(batch).float()
        return ((out["onset"] - ONSET_KEYS.time.of(batch)).abs() * valid).sum() / valid.sum().clamp_min(1.0)

    def metrics(self) -> nn.ModuleDict:
        return nn.ModuleDict({"mae_ms": MeanAbsError(), "baseline_mae_ms_mean": ConstantMeanMAE()})

    def update_metrics(self, metrics, out, batch):
        valid = ONSET_KEYS.valid.of(batch)
        if not bool(valid.any()):
            return
        span_ms = ONSET_KEYS.span_us.of(batch)[batch[f"{_QUERY}_batch"]] / 1000.0
        onset = ONSET_KEYS.time.of(batch)
        metrics["mae_ms"].update((out["onset"].detach() * span_ms)[valid], (onset * span_ms)[valid])
        metrics["baseline_mae_ms_mean"].update((onset * span_ms)[valid])


class OnsetTask(PretextTask):
    """Onset-time prediction (see the module docstring).

    Args:
        weight: loss weight.
        rect_px, cell_px, slice_share, min_events, k: the blanking (:class:`OnsetBlanking`).
    """

    name = "onset"
    head_class = OnsetHead

    def __init__(self, weight: float = 1.0, rect_px: Sequence[int] = (24, 24), cell_px: int = 4,
                 slice_share: float = 0.1, min_events: int = 200, k: int = 8):
        super().__init__(weight, OnsetBlanking(rect_px, cell_px, slice_share, min_events, k))
