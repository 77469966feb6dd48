"""Event inpainting: predict the events removed from random spatio-temporal boxes.

Corruption (:class:`BoxMasking`, shared with the missing-count task): boxes are centred on
random events (so they land on active regions) and every event inside a box is removed,
box after box, until a random share of the window (``share``, e.g. 10-30%) is gone. Each
box is divided into a grid of query cells; the targets of a cell are the number of removed
events in it, whether it held any (occupancy) and the share of ON events among them.

Head: a :class:`~evpose.models.heads.QueryDecoder` at the cell centres, joined to the
remaining graph by their nearest nodes; two logits per cell (occupancy, polarity).
Loss: binary cross-entropy on occupancy, plus on polarity for occupied cells.
Metric: occupancy F1 (threshold 0.5) and average precision.
Baselines: the prior-rate predictor, i.e. a constant probability for every cell: its best
F1 is that of calling every cell occupied, its AP the share of occupied cells.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import BinaryAveragePrecision

from ..models.heads import QueryDecoder
from ..tasks.base import WINDOW, Encoder, GraphFrame, Key, Keys, TaskHead
from .base import PretextTask
from .metrics import BinaryF1

_QUERY = "box_query_pos"
#: What box masking writes on the graph (shared by inpainting and counting).
BOX_KEYS = Keys(
    query=Key.queries(_QUERY),  # (Q, 3) cell centres
    count=Key("box_count", _QUERY),  # (Q,) removed events per cell
    on=Key("box_on", _QUERY),  # (Q,) removed ON events per cell
    num_removed=Key("box_num_removed", WINDOW),  # (1,) removed events of the window
)


#: The box corruption's defaults (:class:`BoxMasking`; inpainting's and counting's specs take
#: the same values, defaulting to these).
BOX_DEFAULTS: dict = {"share": (0.1, 0.3), "box_px": (16, 16), "box_us": 8000, "cell_px": 4, "cell_us": 4000,
                      "max_boxes": 64, "min_events": 200, "k": 8}


class BoxMasking(Encoder):
    """Remove every event inside random boxes and grid the boxes into query cells: the
    encoder of inpainting and counting (one corruption when both are on).

    Args:
        share: (low, high) share of the window's events to remove (drawn per window).
        box_px: box width and height in pixels.
        box_us: box duration in microseconds.
        cell_px: query cell width/height in pixels (divides ``box_px``).
        cell_us: query cell duration (divides ``box_us``).
        max_boxes: at most this many boxes per window.
        min_events: windows with fewer events are skipped (None returned).
        k: nodes joined to each query cell (found in the transform).

    Targets (``dict``): ``query_pos`` (Q, 3) cell centres in graph coordinates, ``count`` (Q,),
    ``on`` (Q,) removed ON events per cell, ``boxes`` (nb, 6) integer box bounds
    ``x0, x1, y0, y1, t0, t1`` (half-open), ``removed`` (the removed events).
    """

    def __init__(
        self,
        share: Sequence[float] = BOX_DEFAULTS["share"],
        box_px: Sequence[int] = BOX_DEFAULTS["box_px"],
        box_us: int = BOX_DEFAULTS["box_us"],
        cell_px: int = BOX_DEFAULTS["cell_px"],
        cell_us: int = BOX_DEFAULTS["cell_us"],
        max_boxes: int = BOX_DEFAULTS["max_boxes"],
        min_events: int = BOX_DEFAULTS["min_events"],
        k: int = BOX_DEFAULTS["k"],
    ):
        lo, hi = (float(v) for v in share)
        if not 0.0 < lo <= hi < 1.0:
            raise ValueError(f"share must satisfy 0 < low <= high < 1, got {share}")
        self.share = (lo, hi)
        self.box_px = tuple(int(v) for v in box_px)
        self.box_us, self.cell_px, self.cell_us = int(box_us), int(cell_px), int(cell_us)
        if any(b % self.cell_px for b in self.box_px) or self.box_us % self.cell_us:
            raise ValueError(f"cells ({cell_px} px, {cell_us} us) must divide boxes ({box_px} px, {box_us} us)")
        self.max_boxes, self.min_events, self.k = int(max_boxes), int(min_events), int(k)

    keys = BOX_KEYS
    corruption_key = "boxes"
    order = 10
    refuses_windows = True

    @property
    def cells_per_box(self) -> tuple[int, int, int]:
        return (self.box_px[0] // self.cell_px, self.box_px[1] // self.cell_px, self.box_us // self.cell_us)

    def corrupt(self, events: np.ndarray, frame: GraphFrame, sample: dict, rng: np.random.Generator):
        n = len(events)
        if n < self.min_events:
            return None
        target = rng.uniform(*self.share) * n
        x = events["x"].astype(np.int64)
        y = events["y"].astype(np.int64)
        t = events["t"].astype(np.int64)
        bw, bh = self.box_px
        t_lo, t_hi = int(t[0]), int(t[-1]) + 1
        removed = np.zeros(n, dtype=bool)
        boxes: list[tuple[int, int, int, int, int, int]] = []
        for _ in range(4 * self.max_boxes):
            if removed.sum() >= target or len(boxes) >= self.max_boxes:
                break
            candidates = np.flatnonzero(~removed)
            a = int(candidates[rng.integers(len(candidates))])
            # the box around the anchor event, moved inside the sensor and the window
            x0 = int(np.clip(x[a] - bw // 2, 0, max(frame.width - bw, 0)))
            y0 = int(np.clip(y[a] - bh // 2, 0, max(frame.height - bh, 0)))
            tb0 = int(np.clip(t[a] - self.box_us // 2, t_lo, max(t_hi - self.box_us, t_lo)))
            box = (x0, x0 + bw, y0, y0 + bh, tb0, tb0 + self.box_us)
            if any(_overlap(box, b) for b in boxes):
                continue
            inside = (x >= box[0]) & (x < box[1]) & (y >= box[2]) & (y < box[3]) & (t >= box[4]) & (t < box[5])
            removed |= inside
            boxes.append(box)
        if not boxes or removed.all():
            return None
        cx, cy, ct = self.cells_per_box
        cells_per_box = cx * cy * ct
        gi, gj, gk = np.meshgrid(np.arange(cx), np.arange(cy), np.arange(ct), indexing="ij")
        gi, gj, gk = gi.ravel(), gj.ravel(), gk.ravel()
        b = np.asarray(boxes, dtype=np.int64)
        qx = (b[:, None, 0] + gi * self.cell_px + (self.cell_px - 1) / 2.0).ravel()
        qy = (b[:, None, 2] + gj * self.cell_px + (self.cell_px - 1) / 2.0).ravel()
        qt = (b[:, None, 4] + gk * self.cell_us + self.cell_us / 2.0).ravel()
        # cell of every removed event: its box, then its (i, j, k) inside the box
        rx, ry, rt = x[removed], y[removed], t[removed]
        rp = events["p"][removed]
        in_box = (rx[:, None] >= b[:, 0]) & (rx[:, None] < b[:, 1]) & (ry[:, None] >= b[:, 2]) & (ry[:, None] < b[:, 3])
        in_box &= (rt[:, None] >= b[:, 4]) & (rt[:, None] < b[:, 5])
        box_of = in_box.argmax(1)  # boxes do not overlap: exactly one
        ci = (rx - b[box_of, 0]) // self.cell_px
        cj = (ry - b[box_of, 2]) // self.cell_px
        ck = (rt - b[box_of, 4]) // self.cell_us
        cell = box_of * cells_per_box + (ci * cy + cj) * ct + ck
        Q = len(boxes) * cells_per_box
        count = np.bincount(cell, minlength=Q).astype(np.float32)
        on = np.bincount(cell, weights=(rp > 0).astype(np.float64), minlength=Q).astype(np.float32)
        targets = {
            "query_pos": frame.to_pos(qx, qy, qt),
            "count": count,
            "on": on,
            "boxes": b,
            "removed": events[removed],
        }
        return events[~removed], targets

    def __repr__(self) -> str:
        return (f"BoxMasking(share={self.share}, box_px={self.box_px}, box_us={self.box_us}, cell_px={self.cell_px}, "
                f"cell_us={self.cell_us}, max_boxes={self.max_boxes}, k={self.k})")

    def attach(self, data, targets, rng, inputs):
        data[BOX_KEYS.query.name] = torch.from_numpy(targets["query_pos"])
        data[BOX_KEYS.count.name] = torch.from_numpy(targets["count"])
        data[BOX_KEYS.on.name] = torch.from_numpy(targets["on"])
        data[BOX_KEYS.num_removed.name] = torch.tensor([len(targets["removed"])], dtype=torch.long)
        return data


class InpaintHead(TaskHead):
    """Two logits per query cell (occupancy, polarity) from a query decoder.

    Args:
        channels: backbone width.
        encoder: the task's :class:`BoxMasking` (its box size sets the decoder's scale).
        polarity_weight: weight of the polarity term in the loss.
    """

    outputs = {"occupancy_logit": _QUERY, "polarity_logit": _QUERY}
    #: before checkpoint format 3 the head was its decoder (weights under ``heads.<task>.``)
    format2_prefix = "decoder."

    def __init__(self, channels: int, encoder: BoxMasking, polarity_weight: float = 0.5):
        super().__init__()
        self.polarity_weight = float(polarity_weight)
        self.decoder = QueryDecoder(channels, 2, k=encoder.k, scale=float(encoder.box_px[0]) / 2)

    def forward(self, features, batch):
        logits = self.decode_queries(self.decoder, features, batch, BOX_KEYS.query)
        return {"occupancy_logit": logits[:, 0], "polarity_logit": logits[:, 1]}

    def loss(self, out, batch):
        count = BOX_KEYS.count.of(batch)
        occ = (count > 0).float()
        loss = F.binary_cross_entropy_with_logits(out["occupancy_logit"], occ)
        if self.polarity_weight > 0 and bool(occ.any()):
            frac_on = BOX_KEYS.on.of(batch) / count.clamp_min(1)
            pol = F.binary_cross_entropy_with_logits(out["polarity_logit"], frac_on, reduction="none")
            loss = loss + self.polarity_weight * (pol * occ).sum() / occ.sum()
        return loss

    def metrics(self) -> nn.ModuleDict:
        return nn.ModuleDict(
            {
                "f1": BinaryF1(),
                "ap": BinaryAveragePrecision(thresholds=200),
                "baseline_f1_prior": BinaryF1(),
                "baseline_ap_prior": BinaryAveragePrecision(thresholds=200),
            }
        )

    def update_metrics(self, metrics, out, batch):
        occ = BOX_KEYS.count.of(batch) > 0
        prob = torch.sigmoid(out["occupancy_logit"]).detach()
        metrics["f1"].update(prob > 0.5, occ)
        metrics["ap"].update(prob, occ.long())
        metrics["baseline_f1_prior"].update(torch.ones_like(occ), occ)
        metrics["baseline_ap_prior"].update(torch.full_like(prob, 0.5), occ.long())


def _overlap(a, b) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3] and a[4] < b[5] and b[4] < a[5]


class InpaintTask(PretextTask):
    """Event inpainting (see the module docstring).

    Args:
        weight: loss weight.
        share, box_px, box_us, cell_px, cell_us, max_boxes, min_events, k: the corruption
            (:class:`BoxMasking`; defaults :data:`BOX_DEFAULTS`).
        polarity_weight: weight of the polarity term in the loss (:class:`InpaintHead`).
    """

    name = "inpaint"
    head_class = InpaintHead

    def __init__(
        self,
        weight: float = 1.0,
        share: Sequence[float] = BOX_DEFAULTS["share"],
        box_px: Sequence[int] = BOX_DEFAULTS["box_px"],
        box_us: int = BOX_DEFAULTS["box_us"],
        cell_px: int = BOX_DEFAULTS["cell_px"],
        cell_us: int = BOX_DEFAULTS["cell_us"],
        max_boxes: int = BOX_DEFAULTS["max_boxes"],
        min_events: int = BOX_DEFAULTS["min_events"],
        polarity_weight: float = 0.5,
        k: int = BOX_DEFAULTS["k"],
    ):
        encoder = BoxMasking(share, box_px, box_us, cell_px, cell_us, max_boxes, min_events, k)
        super().__init__(weight, encoder, polarity_weight=float(polarity_weight))
