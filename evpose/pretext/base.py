"""The contract every pretext task follows.

A task is a plain object (picklable: it travels into DataLoader workers) with four parts:

1. a corruption on the window's events, ``corrupt(events, frame, sample, rng) -> (events, targets)``,
   that hides something and returns what was hidden (or None when the window cannot be
   used); tasks with the same ``corruption_key`` share one corruption (the first task's
   parameters), e.g. inpainting and missing-count prediction;
2. ``attach(data, targets, rng, inputs) -> data``: write the targets (and query points) onto
   the event graph built from the corrupted events, and apply node-level corruptions (to
   the blocks of ``x`` that ``inputs``, the :class:`~evpose.data.NodeInputSpec`, names);
3. ``build_head(channels)``: the head (an ``nn.Module``) on the shared backbone;
4. ``loss(out, batch)``, ``make_metrics()`` and ``update_metrics(metrics, out, batch)``:
   the loss, the metric and the trivial baseline it must beat, logged side by side.

Tasks run in the fixed order of their ``order`` (future split first, then boxes, then
blanking, then node-level masking) so they compose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import Tensor, nn
from torch_geometric.data import Data

from ..data.node_inputs import NodeInputSpec


@dataclass(frozen=True)
class GraphFrame:
    """How event coordinates map to graph positions: ``pos = (x, y, beta * (t - t0))``.

    Args:
        t0: time origin (us), the window start.
        beta: pos units per microsecond along the time axis.
        height, width: sensor size.
        t_end: end of the window (us, exclusive).
    """

    t0: int
    beta: float
    height: int
    width: int
    t_end: int

    def to_pos(self, x, y, t) -> np.ndarray:
        """Shapes: x, y, t (Q,) -> (Q, 3) float32."""
        return np.stack(
            [np.asarray(x, np.float64), np.asarray(y, np.float64), (np.asarray(t, np.float64) - self.t0) * self.beta], 1
        ).astype(np.float32)


class PretextTask:
    """Base class; see the module docstring.

    Args:
        weight: weight of this task's loss in the pretraining objective.
    """

    #: short name, used in logs (train/<name>/...) and configs (pretext=[<name>, ...])
    name: str = ""
    #: tasks with the same key share one event corruption (None: no event corruption)
    corruption_key: str | None = None
    #: position of the corruption in the pipeline (lower runs first)
    order: int = 100
    #: Data attributes holding query points (PyG makes ``<name>_batch`` vectors for them)
    query_keys: tuple[str, ...] = ()
    #: the task works on the part-label input block of the node features (num_parts > 0)
    needs_part_input: bool = False

    def __init__(self, weight: float = 1.0):
        if weight < 0:
            raise ValueError(f"{self.name}: task weight must be >= 0, got {weight}")
        self.weight = float(weight)

    # ------------------------------------------------------------------ data side
    def corrupt(
        self, events: np.ndarray, frame: GraphFrame, sample: dict, rng: np.random.Generator
    ) -> tuple[np.ndarray, dict] | None:
        """Hide part of the window. Returns the remaining events and the targets, or None."""
        return events, {}

    def attach(self, data: Data, targets: dict, rng: np.random.Generator, inputs: NodeInputSpec) -> Data | None:
        """Put targets and query points on the graph (and corrupt the node input blocks
        ``inputs`` names)."""
        return data

    # ------------------------------------------------------------------ model side
    def build_head(self, channels: int) -> nn.Module:
        raise NotImplementedError

    def forward_head(self, head: nn.Module, feats, batch) -> dict[str, Tensor]:
        """Run the head on the backbone output (default: ``head(feats, batch)``)."""
        return head(feats, batch)

    @staticmethod
    def decode_queries(decoder: nn.Module, feats, batch, key: str, query_feat: Tensor | None = None) -> Tensor:
        """Run a :class:`~evpose.models.heads.QueryDecoder` at the query points
        ``batch[key]``, sharing their nearest-node search with other heads on the same points."""
        query, query_batch = batch[key], batch[f"{key}_batch"]
        nbr = key[: -len("_pos")] + "_nbr"
        if nbr in batch:  # found by the data transform
            nbrs = batch[nbr]
        else:
            nbrs = feats.query_neighbours(query, query_batch, decoder.k, key)
        return decoder(feats.features[-1], feats.pos, feats.batch, query, query_batch, feats.num_graphs, nbrs, query_feat)

    def loss(self, out: dict[str, Tensor], batch) -> Tensor:
        raise NotImplementedError

    def make_metrics(self) -> nn.ModuleDict:
        """torchmetrics objects, the model's and the baselines' (keys become log names)."""
        return nn.ModuleDict()

    def update_metrics(self, metrics: nn.ModuleDict, out: dict[str, Tensor], batch) -> None:
        pass

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"
