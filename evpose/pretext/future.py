"""Future-event prediction: from the past of a window, predict where its future events fire
and how each body part moves.

Corruption: the window is split at ``t_split`` (a share ``past_share`` of its duration); the
model sees only the past. The future slab is ``[t_split, t_split + dt)`` with ``dt`` the
rest of the window. Targets:

- occupancy of a spatial grid of ``cell_px`` cells over the active region (robust bounding
  box of the past events, widened by ``margin_px``) in the future slab, per polarity;
- per body part, the displacement of the mean position of its events from the present slab
  ``[t_split - dt, t_split)`` to the future slab: the part's motion vector (valid when the
  part has at least ``min_part_events`` events in both slabs).

Heads: a query decoder at the cell centres (placed at the split time) with two
occupancy logits (ON, OFF); besides its nearest nodes, every cell is told what the visible
past says about it: its occupancy per polarity in the present slab and in the slab before
(computed from all past events, as the graph is a subsample of them). A motion head turns the
node features of each part (pooled by the nodes' part labels) and the part's displacement
from the slab before to the present slab (its visible past motion) into a 2D displacement.
Loss: BCE on occupancy (occupied cells weighted by ``pos_weight``) + ``motion_weight`` x L1 on valid motion vectors (px).
Metrics: occupancy F1 and motion end-point error (px).
Baselines: "future = present" (the cell's occupancy in the present slab); zero motion, and
constant velocity (the part's visible past displacement).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..models.heads import QueryDecoder
from ..models.layers import mlp
from ..models.scatter import scatter_mean_rows
from ..types import NUM_PARTS
from ..tasks.base import WINDOW, Encoder, GraphFrame, Key, Keys, TaskHead
from .base import PretextTask
from .metrics import BinaryF1, MeanOf

_QUERY = "future_query_pos"
#: What the future split writes on the graph.
FUTURE_KEYS = Keys(
    query=Key.queries(_QUERY),  # (Q, 3) cell centres, at the split time
    occ=Key("future_occ", _QUERY),  # (Q, 2) future occupancy per polarity (ON, OFF)
    present_occ=Key("future_present_occ", _QUERY),  # (Q, 2) occupancy in the present slab
    query_feat=Key("future_query_feat", _QUERY),  # (Q, 4) present and earlier occupancy
    motion=Key("future_motion", WINDOW),  # (1, P, 2) part motion, present -> future slab (px)
    motion_valid=Key("future_motion_valid", WINDOW),  # (1, P)
    past_motion=Key("future_past_motion", WINDOW),  # (1, P, 2) part motion, earlier -> present slab
    past_motion_valid=Key("future_past_motion_valid", WINDOW),  # (1, P)
)


class FutureSplit(Encoder):
    """Split the window into a visible past and a hidden future (see the module docstring).

    Args:
        past_share: where the window is split, as a share of its duration.
        cell_px: grid cell size (px).
        margin_px: widening of the active region.
        min_part_events: events a part needs in both slabs for a motion target.
        min_events: windows with fewer events (or fewer than 16 past/future events) are skipped.
        num_parts: P (0: no part-motion target, occupancy only).
        k: nodes joined to each query cell (found in the transform).
    """

    keys = FUTURE_KEYS
    corruption_key = "future"
    order = 0
    refuses_windows = True
    part_labels = "optional"  # without them: no part-motion target (event occupancy only)

    def __init__(self, past_share: float = 0.75, cell_px: int = 8, margin_px: int = 16, min_part_events: int = 10,
                 min_events: int = 200, num_parts: int = NUM_PARTS, k: int = 8):
        if not 0.0 < past_share < 1.0:
            raise ValueError(f"past_share must be in (0, 1), got {past_share}")
        self.past_share, self.cell_px, self.margin_px = float(past_share), int(cell_px), int(margin_px)
        self.min_part_events = int(min_part_events)
        self.min_events, self.num_parts, self.k = int(min_events), int(num_parts), int(k)

    def corrupt(self, events, frame: GraphFrame, sample, rng):
        n = len(events)
        if n < self.min_events:
            return None
        t = events["t"].astype(np.int64)
        t_first, t_end = int(t[0]), int(t[-1]) + 1
        t_split = t_first + int(round(self.past_share * (t_end - t_first)))
        dt = t_end - t_split
        past = t < t_split
        future = ~past
        present = past & (t >= t_split - dt)
        before = past & (t < t_split - dt) & (t >= t_split - 2 * dt)
        if past.sum() < 16 or future.sum() < 16:
            return None
        x, y = events["x"].astype(np.int64), events["y"].astype(np.int64)
        # active region: robust box of the past events, widened, on the cell grid
        c = self.cell_px
        lo_x = max(0, int(np.percentile(x[past], 2)) - self.margin_px) // c * c
        hi_x = min(frame.width, int(np.percentile(x[past], 98)) + self.margin_px + 1)
        lo_y = max(0, int(np.percentile(y[past], 2)) - self.margin_px) // c * c
        hi_y = min(frame.height, int(np.percentile(y[past], 98)) + self.margin_px + 1)
        nx, ny = -(-(hi_x - lo_x) // c), -(-(hi_y - lo_y) // c)

        def occupancy(sel):
            inside = sel & (x >= lo_x) & (x < lo_x + nx * c) & (y >= lo_y) & (y < lo_y + ny * c)
            cell = ((x[inside] - lo_x) // c) * ny + (y[inside] - lo_y) // c
            pol = events["p"][inside] > 0
            occ = np.zeros((nx * ny, 2), dtype=np.float32)
            occ[cell[pol], 0] = 1.0
            occ[cell[~pol], 1] = 1.0
            return occ

        gi, gj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
        qx = lo_x + gi.ravel() * c + (c - 1) / 2.0
        qy = lo_y + gj.ravel() * c + (c - 1) / 2.0
        qt = np.full(qx.shape, float(t_split))  # at the split: the nearest nodes are the latest events
        present_occ = occupancy(present)
        targets = {
            "query_pos": frame.to_pos(qx, qy, qt),
            "occ": occupancy(future),
            "present_occ": present_occ,
            "query_feat": np.concatenate([present_occ, occupancy(before)], axis=1),
            "t_split": t_split,
        }
        P = self.num_parts
        if P and "part" in (events.dtype.names or ()):
            part = events["part"].astype(np.int64)
            targets["motion"], targets["motion_valid"] = self._displacement(part, x, y, present, future)
            targets["past_motion"], targets["past_motion_valid"] = self._displacement(part, x, y, before, present)
        else:
            for key in ("motion", "past_motion"):
                targets[key], targets[key + "_valid"] = np.zeros((P, 2), np.float32), np.zeros(P, bool)
        return events[past], targets

    def _displacement(self, part, x, y, first, second) -> tuple[np.ndarray, np.ndarray]:
        """Per part, mean position of its events in ``second`` minus in ``first`` (valid when
        both hold ``min_part_events``). Shapes: -> (P, 2), (P,)"""
        P = self.num_parts
        a, b = first & (part >= 0), second & (part >= 0)
        na = np.bincount(part[a], minlength=P)[:P]
        nb = np.bincount(part[b], minlength=P)[:P]
        valid = (na >= self.min_part_events) & (nb >= self.min_part_events)
        out = np.zeros((P, 2), dtype=np.float32)
        for k, coord in enumerate((x, y)):
            ma = np.bincount(part[a], weights=coord[a], minlength=P)[:P] / np.maximum(na, 1)
            mb = np.bincount(part[b], weights=coord[b], minlength=P)[:P] / np.maximum(nb, 1)
            out[:, k] = np.where(valid, mb - ma, 0.0)
        return out, valid

    def attach(self, data, targets, rng, inputs):
        K = FUTURE_KEYS
        data[K.query.name] = torch.from_numpy(targets["query_pos"])
        data[K.occ.name] = torch.from_numpy(targets["occ"])
        data[K.present_occ.name] = torch.from_numpy(targets["present_occ"])
        data[K.query_feat.name] = torch.from_numpy(targets["query_feat"])
        data[K.motion.name] = torch.from_numpy(targets["motion"])[None]
        data[K.motion_valid.name] = torch.from_numpy(targets["motion_valid"])[None]
        data[K.past_motion.name] = torch.from_numpy(targets["past_motion"])[None]
        data[K.past_motion_valid.name] = torch.from_numpy(targets["past_motion_valid"])[None]
        return data


class FutureHead(TaskHead):
    """Future occupancy per query cell and the motion of each part (see the module docstring).

    Args:
        channels: backbone width.
        encoder: the task's :class:`FutureSplit` (cell size, P, k).
        motion_weight: weight of the motion loss (per px).
        pos_weight: weight of occupied cells in the occupancy loss (the future grid is mostly
            empty; about (1 - p) / p for an occupancy rate p balances the decision at 0.5).
    """

    outputs = {"occupancy_logit": _QUERY, "motion": WINDOW}

    def __init__(self, channels: int, encoder: FutureSplit, motion_weight: float = 0.5, pos_weight: float = 4.0):
        super().__init__()
        self.cell_px, self.num_parts = encoder.cell_px, encoder.num_parts
        self.motion_weight, self.pos_weight = float(motion_weight), float(pos_weight)
        self.occupancy = QueryDecoder(channels, 2, k=encoder.k, scale=float(self.cell_px), query_features=4)
        self.motion = mlp([channels + self.num_parts + 3, channels, 2])

    def forward(self, features, batch):
        K = FUTURE_KEYS
        h = features.features[-1]
        occ = self.decode_queries(self.occupancy, features, batch, K.query, K.query_feat.of(batch))
        # motion: mean features of each (window, part) group of nodes, plus the part's one-hot
        B, P = features.num_graphs, self.num_parts
        part = getattr(batch, "part", None)
        if part is None or P == 0:
            motion = h.new_zeros(B, P, 2)
        else:
            labelled = part >= 0
            group = features.batch[labelled] * P + part[labelled]
            pooled = scatter_mean_rows(h[labelled], group, B * P)
            onehot = torch.eye(P, device=h.device, dtype=h.dtype).repeat(B, 1)
            past = torch.cat([K.past_motion.of(batch).reshape(B * P, 2) / self.cell_px,
                              K.past_motion_valid.of(batch).reshape(B * P, 1).to(h.dtype)], dim=1)
            motion = self.motion(torch.cat([pooled, onehot, past], dim=1)).view(B, P, 2)
        return {"occupancy_logit": occ, "motion": motion}

    def loss(self, out, batch):
        K = FUTURE_KEYS
        target = K.occ.of(batch)
        pw = torch.tensor(self.pos_weight, device=target.device)
        loss = F.binary_cross_entropy_with_logits(out["occupancy_logit"], target, pos_weight=pw)
        if self.motion_weight > 0:
            valid = K.motion_valid.of(batch).float()
            err = (out["motion"] - K.motion.of(batch)).abs().sum(-1)
            loss = loss + self.motion_weight * (err * valid).sum() / valid.sum().clamp_min(1.0)
        return loss

    def metrics(self) -> nn.ModuleDict:
        return nn.ModuleDict(
            {
                "f1": BinaryF1(),
                "baseline_f1_present": BinaryF1(),
                "motion_epe": MeanOf(),
                "baseline_motion_epe_zero": MeanOf(),
                "baseline_motion_epe_constant": MeanOf(),
            }
        )

    def update_metrics(self, metrics, out, batch):
        K = FUTURE_KEYS
        occ = K.occ.of(batch) > 0.5
        metrics["f1"].update(torch.sigmoid(out["occupancy_logit"].detach()) > 0.5, occ)
        metrics["baseline_f1_present"].update(K.present_occ.of(batch) > 0.5, occ)
        valid, motion = K.motion_valid.of(batch), K.motion.of(batch)
        if bool(valid.any()):
            metrics["motion_epe"].update((out["motion"].detach() - motion).norm(dim=-1)[valid])
            metrics["baseline_motion_epe_zero"].update(motion.norm(dim=-1)[valid])
            # constant velocity: the part keeps its visible past displacement (zero when unknown)
            metrics["baseline_motion_epe_constant"].update((K.past_motion.of(batch) - motion).norm(dim=-1)[valid])


class FutureTask(PretextTask):
    """Future-event prediction (see the module docstring).

    Args:
        weight: loss weight.
        past_share, cell_px, margin_px, min_part_events, min_events, num_parts, k: the split
            (:class:`FutureSplit`).
        motion_weight, pos_weight: the loss (:class:`FutureHead`).
    """

    name = "future"
    head_class = FutureHead

    def __init__(
        self,
        weight: float = 1.0,
        past_share: float = 0.75,
        cell_px: int = 8,
        margin_px: int = 16,
        motion_weight: float = 0.5,
        min_part_events: int = 10,
        min_events: int = 200,
        num_parts: int = NUM_PARTS,
        k: int = 8,
        pos_weight: float = 4.0,
    ):
        encoder = FutureSplit(past_share, cell_px, margin_px, min_part_events, min_events, num_parts, k)
        super().__init__(weight, encoder, motion_weight=float(motion_weight), pos_weight=float(pos_weight))
