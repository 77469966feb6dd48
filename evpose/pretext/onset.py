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
from .base import GraphFrame, PretextTask
from .metrics import ConstantMeanMAE, MeanAbsError


class OnsetTask(PretextTask):
    """Onset-time prediction (see the module docstring).

    Args:
        weight: loss weight.
        rect_px: blanked rectangle (width, height) in pixels.
        cell_px: query cell size (divides ``rect_px``).
        slice_share: share of the window duration kept visible at its start.
        min_events: windows with fewer events are skipped.
        k: nodes joined to each query cell.
    """

    name = "onset"
    corruption_key = "onset"
    order = 20
    query_keys = ("onset_query_pos",)

    def __init__(self, weight: float = 1.0, rect_px: Sequence[int] = (24, 24), cell_px: int = 4,
                 slice_share: float = 0.1, min_events: int = 200, k: int = 8):
        super().__init__(weight)
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
        data.onset_query_pos = torch.from_numpy(targets["query_pos"])
        data.onset_time = torch.from_numpy(targets["onset"])
        data.onset_valid = torch.from_numpy(targets["valid"])
        data.onset_span_us = torch.tensor([targets["span_us"]], dtype=torch.float32)
        return data

    def build_head(self, channels: int) -> nn.Module:
        return QueryDecoder(channels, 1, k=self.k, scale=float(self.cell_px) * 2)

    def forward_head(self, head, feats, batch):
        out = self.decode_queries(head, feats, batch, "onset_query_pos")
        return {"onset": torch.sigmoid(out[:, 0])}

    def loss(self, out, batch):
        valid = batch.onset_valid.float()
        return ((out["onset"] - batch.onset_time).abs() * valid).sum() / valid.sum().clamp_min(1.0)

    def make_metrics(self) -> nn.ModuleDict:
        return nn.ModuleDict({"mae_ms": MeanAbsError(), "baseline_mae_ms_mean": ConstantMeanMAE()})

    def update_metrics(self, metrics, out, batch):
        valid = batch.onset_valid
        if not bool(valid.any()):
            return
        span_ms = batch.onset_span_us[batch.onset_query_pos_batch] / 1000.0
        metrics["mae_ms"].update((out["onset"].detach() * span_ms)[valid], (batch.onset_time * span_ms)[valid])
        metrics["baseline_mae_ms_mean"].update((batch.onset_time * span_ms)[valid])
