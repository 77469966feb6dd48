"""Masked body-part-label refill: hide the part label of a share of nodes, predict it.

Every node carries a part-label input (:mod:`evpose.data.part_input`): a one-hot of its
label (the P parts plus background) or a mask token. This task shows the labels of
``1 - mask_share`` of the nodes and hides the rest; the head predicts the hidden labels
from the graph (node features are the polarity, the TORE history and the shown labels of
the neighbourhood). It needs the part input (``model.num_parts > 0``).

Masking (``mask``): ``regions`` (the default) hides every node inside square x-y regions of
``region_px`` pixels (over the whole window's time), centred on random nodes, until
``mask_share`` of the nodes are hidden; ``nodes`` hides each node independently. With
independent masking a hidden node's nearest shown neighbour is a few pixels away and almost
always on the same body part (copying it is right ~88% of the time on the demo data), so the
task tests little beyond label smoothing; a hidden region removes a whole limb segment's
labels and its part has to be inferred from the body's shape around it. Labels come from the events' ``part`` field: the synthetic data has it,
other data gets it from :class:`evpose.data.SkeletonPartLabeller`.

The head (``propagate=True``, the default) is a :class:`~evpose.models.heads.LabelPropagationHead`:
it starts from the shown labels of each hidden node's ``k_shown`` nearest shown nodes (found in
the data transform, ``refill_edge_index``; inside a hidden region these are at its border, not
among the node's graph neighbours), weighted by a learned distance attention that initially
picks the nearest one, and adds a correction predicted
from the backbone features, so what it gains over copying is what the backbone knows about
the body. ``propagate=False`` predicts from the backbone features alone (a linear or MLP head).

Loss: cross-entropy on the masked nodes. Metric: masked-node accuracy and mIoU.
Baselines: the majority class of the masked nodes, and copying the label of the nearest
node whose label is shown (same window, distance in graph coordinates; found in the data
transform, ``refill_nearest``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import numpy as np
from scipy.spatial import cKDTree

from ..data.part_input import part_input
from ..metrics import PartIoUMetric
from ..models.heads import LabelPropagationHead, NodeHead
from ..models.losses import IGNORE_LABEL, part_loss
from ..types import NUM_PARTS, part_class
from ..tasks.base import EDGES, NODE, Encoder, Key, Keys, TaskHead
from .base import PretextTask
from .metrics import MajorityClass, MeanOf

#: What refill masking writes on the graph (besides the part-label block of ``x``).
REFILL_KEYS = Keys(
    target=Key("refill_target", NODE),  # (N,) class of hidden nodes, IGNORE_LABEL where shown
    shown=Key("refill_shown", NODE),  # (N,) bool: the node's label is shown
    edge_index=Key("refill_edge_index", EDGES),  # (2, E) nearest shown nodes -> hidden node
    nearest=Key("refill_nearest", NODE),  # (N,) class of the nearest shown node (hidden nodes; -1 else)
)


class RefillMasking(Encoder):
    """Hide the part labels of a share of the nodes in the part-label input block.

    Args:
        mask_share: share of nodes whose label is hidden (and predicted).
        num_parts: P.
        mask: ``regions`` (hide square x-y regions) or ``nodes`` (hide nodes independently).
        region_px: side of a hidden region (px), for ``mask=regions``.
        k_shown: shown nodes each hidden node's label propagation starts from.
    """

    keys = REFILL_KEYS
    order = 50
    refuses_windows = True
    needs_part_input = True
    part_labels = "required"

    def __init__(self, mask_share: float = 0.5, num_parts: int = NUM_PARTS, mask: str = "regions",
                 region_px: float = 32.0, k_shown: int = 4):
        if mask not in ("regions", "nodes"):
            raise ValueError(f"refill mask must be 'regions' or 'nodes', got {mask!r}")
        if region_px <= 0:
            raise ValueError(f"refill region_px must be > 0, got {region_px}")
        if k_shown < 1:
            raise ValueError(f"refill k_shown must be >= 1, got {k_shown}")
        if not 0.0 < mask_share <= 1.0:
            raise ValueError(f"mask_share must be in (0, 1], got {mask_share}")
        self.mask, self.region_px, self.k_shown = mask, float(region_px), int(k_shown)
        self.mask_share, self.num_parts = float(mask_share), int(num_parts)

    def attach(self, data, targets, rng, inputs):
        if getattr(data, "part", None) is None:
            raise ValueError(
                "the refill task needs per-event part labels; data without them needs the part labeller "
                "(evpose.data.SkeletonPartLabeller, e.g. conf/data/dhp19.yaml)"
            )
        if inputs.num_parts != self.num_parts:
            raise ValueError(
                f"the refill task shows part labels in the node features, but they have "
                f"{'no part input (model.num_parts=0)' if not inputs.num_parts else f'{inputs.num_parts} parts'} "
                f"and the task has num_parts={self.num_parts}; leave refill out or set model.num_parts > 0"
            )
        K = REFILL_KEYS
        n = data.num_nodes
        if self.mask == "regions":
            hidden = torch.from_numpy(region_mask(data.pos[:, :2].numpy(), self.mask_share, self.region_px, rng))
        else:
            hidden = torch.from_numpy(rng.random(n) < self.mask_share)
        data.x = data.x.clone()
        part_block = slice(inputs.block("part_labels").start, inputs.block("part_mask").stop)
        data.x[:, part_block] = part_input(n, self.num_parts, data.part, ~hidden)
        cls = part_class(data.part, self.num_parts)
        data[K.target.name] = torch.where(hidden, cls, torch.full_like(cls, IGNORE_LABEL))
        data[K.shown.name] = ~hidden
        src, dst = nearest_shown(data.pos, ~hidden, self.k_shown)
        data[K.edge_index.name] = torch.stack([src, dst])
        first = torch.ones_like(dst, dtype=torch.bool)  # each hidden node's first edge: its nearest shown node
        first[1:] = dst[1:] != dst[:-1]
        nearest = torch.full_like(cls, -1)  # the copying baseline
        nearest[dst[first]] = cls[src[first]]
        data[K.nearest.name] = nearest
        return data


class RefillHead(TaskHead):
    """The part class of every node (scored on the hidden ones), see the module docstring.

    Args:
        channels: backbone width.
        encoder: the task's :class:`RefillMasking` (P).
        hidden: hidden width (0: linear; with ``propagate`` the correction MLP's, 64 if 0).
        propagate: start from the neighbours' shown labels
            (:class:`~evpose.models.heads.LabelPropagationHead`); False: from the features alone.
    """

    outputs = {"part_logits": NODE}
    #: before checkpoint format 3 the head was its network (weights under ``heads.refill.``)
    format2_prefix = "net."

    def __init__(self, channels: int, encoder: RefillMasking, hidden: int = 0, propagate: bool = True):
        super().__init__()
        self.num_parts, self.propagate = encoder.num_parts, bool(propagate)
        C = self.num_classes
        self.net = LabelPropagationHead(channels, C, hidden or 64) if self.propagate else NodeHead(channels, C, hidden)

    @property
    def num_classes(self) -> int:
        return self.num_parts + 1

    def forward(self, features, batch):
        h = features.features[-1]
        if not self.propagate:
            return {"part_logits": self.net(h)}
        # the shown labels, one-hot (what the part-label input block holds; zero where hidden)
        shown = REFILL_KEYS.shown.of(batch)
        labels = F.one_hot(part_class(batch.part.long(), self.num_parts), self.num_classes).to(batch.pos.dtype)
        labels = labels * shown[:, None].to(labels.dtype)
        return {"part_logits": self.net(h, labels, shown, batch.pos, REFILL_KEYS.edge_index.of(batch))}

    def loss(self, out, batch):
        return part_loss(out["part_logits"], REFILL_KEYS.target.of(batch))

    def metrics(self) -> nn.ModuleDict:
        C = self.num_classes
        return nn.ModuleDict(
            {
                "accuracy": MeanOf(),
                "miou": PartIoUMetric(C),
                "baseline_accuracy_majority": MajorityClass(C, "accuracy"),
                "baseline_miou_majority": MajorityClass(C, "miou"),
                "baseline_accuracy_nearest": MeanOf(),
                "baseline_miou_nearest": PartIoUMetric(C),
            }
        )

    def update_metrics(self, metrics, out, batch):
        target_all = REFILL_KEYS.target.of(batch)
        masked = target_all != IGNORE_LABEL
        if not bool(masked.any()):
            return
        target = target_all[masked]
        pred = out["part_logits"].detach()[masked].argmax(dim=1)
        metrics["accuracy"].update(pred == target)
        metrics["miou"].update(pred, target)
        metrics["baseline_accuracy_majority"].update(target)
        metrics["baseline_miou_majority"].update(target)
        near = REFILL_KEYS.nearest.of(batch)[masked]
        ok = near >= 0
        metrics["baseline_accuracy_nearest"].update(near[ok] == target[ok])
        metrics["baseline_miou_nearest"].update(near[ok], target[ok])


class RefillTask(PretextTask):
    """Masked part-label refill (see the module docstring).

    Args:
        weight: loss weight.
        mask_share, num_parts, mask, region_px, k_shown: the masking (:class:`RefillMasking`).
        hidden, propagate: the head (:class:`RefillHead`).
    """

    name = "refill"
    head_class = RefillHead

    def __init__(self, weight: float = 1.0, mask_share: float = 0.5, num_parts: int = NUM_PARTS, hidden: int = 0,
                 propagate: bool = True, mask: str = "regions", region_px: float = 32.0, k_shown: int = 4):
        encoder = RefillMasking(mask_share, num_parts, mask, region_px, k_shown)
        super().__init__(weight, encoder, hidden=int(hidden), propagate=bool(propagate))

    @property
    def num_classes(self) -> int:
        return self.encoder.num_parts + 1


def nearest_shown(pos: torch.Tensor, shown: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Edges from the ``k`` nearest shown nodes (``src``, nearest first) to every hidden node
    (``dst``); fewer when fewer are shown, none when none is. One window, by k-d tree.

    Shapes:
        pos: (N, 3), shown: (N,) bool -> src (E,), dst (E,) int64, E = hidden * min(k, shown)
    """
    shown_idx, hidden_idx = torch.nonzero(shown).flatten(), torch.nonzero(~shown).flatten()
    k = min(int(k), len(shown_idx))
    if k == 0 or len(hidden_idx) == 0:
        empty = torch.zeros(0, dtype=torch.long)
        return empty, empty
    _, j = cKDTree(pos[shown].double().numpy()).query(pos[hidden_idx].double().numpy(), k=k)
    j = torch.from_numpy(np.asarray(j, dtype=np.int64).reshape(len(hidden_idx), k))
    return shown_idx[j].flatten(), hidden_idx.repeat_interleave(k)


def region_mask(xy: np.ndarray, share: float, region_px: float, rng: np.random.Generator) -> np.ndarray:
    """Hide square regions: squares of side ``region_px`` centred on nodes drawn at random
    (without replacement), taken in draw order until at least ``share`` of the nodes lie in
    one (the last square may overshoot). Returns the hidden nodes.

    Shapes:
        xy: (N, 2) pixels -> (N,) bool
    """
    n = len(xy)
    if n == 0:
        return np.zeros(0, dtype=bool)
    need = int(np.ceil(share * n))
    hidden = np.zeros(n, dtype=bool)
    half = region_px / 2.0
    order = rng.permutation(n)
    # draw centres in blocks: squares are tested vectorised, (block, N) at a time
    for start in range(0, n, 64):
        centres = xy[order[start : start + 64]]
        inside = np.all(np.abs(xy[None, :, :] - centres[:, None, :]) <= half, axis=2)  # (b, N)
        new = inside & ~np.logical_or.accumulate(np.vstack([hidden[None], inside[:-1]]), axis=0)
        total = hidden.sum() + np.cumsum(new.sum(axis=1))
        if total[-1] >= need:
            last = int(np.argmax(total >= need))
            hidden |= inside[: last + 1].any(axis=0)
            return hidden
        hidden |= inside.any(axis=0)
    return hidden
