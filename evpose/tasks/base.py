"""The contract every task follows, pretext and pose alike: an encoder (data side) and a
head (model side), both made from one spec.

- The **encoder** (:class:`Encoder`, a plain picklable object: it travels into the
  DataLoader workers) turns a window into the model's input and the task's targets:
  ``corrupt(events, frame, sample, rng) -> (events, targets)`` hides something in the
  window's events and returns what was hidden (None: the window cannot be used; encoders
  that may refuse windows say so, :attr:`Encoder.refuses_windows`); tasks with the same
  ``corruption_key`` share one corruption (the first task's, in ``order``), e.g.
  inpainting and missing-count prediction. ``attach(data, targets, rng, inputs) -> data``
  writes the targets (and query points) onto the graph of the corrupted events and applies
  node-level corruptions through the blocks of ``x`` that ``inputs`` (the
  :class:`~evpose.data.NodeInputSpec`) names. Every ``Data`` attribute it writes is declared
  in ``keys`` (:class:`Keys` of :class:`Key`: the name and what its rows run over: windows,
  nodes or the points of a query set), so the head, the transform (query sets, their
  neighbours) and the plots read them from the declaration, never by a name of their own.
  The pose tasks' encoders corrupt nothing: their keys are the window's labels, which the
  graph transform writes from the window (:class:`~evpose.data.PoseGraphTransform`), and
  ``targets(batch)`` makes the typed targets of the losses from them.
- The **head** (:class:`TaskHead`, an ``nn.Module`` on the shared backbone):
  ``forward(features, batch) -> {output: tensor}`` (each output's level declared in
  ``outputs``; a head with per-stage outputs, for intermediate supervision, gives the last
  stage's and the list of every stage's, level :data:`STAGES`), ``losses(out, batch)``
  (``{term: loss}``; a term may be a list over the stages, which the module sums with its
  stage weights; default: the one term ``loss``), ``metrics()`` (the model's metric and the
  trivial baselines it must beat, ``baseline_<metric>_<name>``) and ``update_metrics``.
  A head that reads earlier tasks' outputs declares them (:attr:`Task.needs`, by task name)
  and gets them as ``forward(features, batch, earlier)`` (``{task: its outputs}``): tasks
  run in the order of the module's task list, so a needed task comes before.
- The **task** (:class:`Task`, what a spec in ``conf/pretext_tasks/`` or ``conf/pose_tasks/``
  names) takes the spec's values, makes the encoder (``task.encoder``) and builds the head
  on demand (``task.build_head(channels, num_stages)``); ``weight`` weighs its loss in the
  training objective (``loss_weights``: the weight of each loss term).

Encoders run in the fixed order of their ``order`` (future split first, then boxes, then
blanking, then node-level masking) so they compose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
from torch import Tensor, nn
from torch_geometric.data import Data

from ..data.graph_data import nbr_key
from ..data.node_inputs import NodeInputSpec
from ..types import NODE_LEVEL, WINDOW_LEVEL

WINDOW, NODE = WINDOW_LEVEL, NODE_LEVEL
#: The level of a (2, E) edge index between a window's nodes (PyG offsets it when batching).
EDGES = "edges"
#: The level of a head output that lists the outputs of every backbone stage (dicts of the
#: head's other outputs, the last stage's last; intermediate supervision).
STAGES = "stages"


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


@dataclass(frozen=True)
class Key:
    """A ``Data`` attribute an encoder writes and what its first dimension runs over.

    Attributes:
        name: the attribute (``box_count``).
        level: :data:`WINDOW` (one row per window), :data:`NODE` (one per graph node),
            :data:`EDGES` (a ``(2, E)`` node index) or the name of a query set (one per query
            point; a query set's own key has its own name as level, see :meth:`queries`).
    """

    name: str
    level: str

    @classmethod
    def queries(cls, name: str) -> "Key":
        """A query set: ``(Q, 3)`` points in graph coordinates, ``name`` ending in
        ``_query_pos`` (PyG batches them with ``<name>_batch`` and ``<name>_ptr``; the
        transform finds their nearest nodes, :func:`~evpose.data.graph_data.nbr_key`)."""
        nbr_key(name)  # (checks the name)
        return cls(name, name)

    @property
    def is_queries(self) -> bool:
        return self.level == self.name

    def of(self, data) -> Any:
        """The attribute of a graph or batch (``data[name]``; KeyError when absent)."""
        return data[self.name]

    def get(self, data, default=None) -> Any:
        """The attribute, or ``default`` when ``data`` lacks it."""
        value = getattr(data, self.name, None)
        return default if value is None else value

    def __str__(self) -> str:
        return self.name


class Keys:
    """The keys of one task, by role (``keys.count``), iterable and picklable.

    Example: ``Keys(query=Key.queries("box_query_pos"), count=Key("box_count", "box_query_pos"))``.
    """

    def __init__(self, **keys: Key):
        self.__dict__.update(keys)

    def __iter__(self) -> Iterator[Key]:
        return iter(self.__dict__.values())

    def __getattr__(self, role: str) -> Key:  # only for roles it lacks: a clear error
        raise AttributeError(f"no key {role!r} among {list(self.__dict__)}")

    def __getstate__(self):
        return dict(self.__dict__)

    def __setstate__(self, state):
        self.__dict__.update(state)

    @property
    def queries(self) -> list[str]:
        """The query sets among the keys."""
        return [k.name for k in self if k.is_queries]

    def __repr__(self) -> str:
        return f"Keys({', '.join(f'{r}={k.name!r}' for r, k in self.__dict__.items())})"


class Encoder:
    """Data side of a task; see the module docstring. Picklable: plain values only.

    Attributes:
        keys: the ``Data`` attributes :meth:`attach` writes (:class:`Keys`).
        corruption_key: encoders with the same key share one event corruption (None: none).
        order: position in the pipeline (lower runs first).
        needs_part_input: works on the part-label block of the node features (num_parts > 0).
        part_labels: what it makes of the events' part labels: ``"unused"``, ``"optional"``
            (it leaves out what it predicts of the parts without them) or ``"required"``.
        k: nearest nodes found for each point of the encoder's query sets (in the transform).
        refuses_windows: its :meth:`corrupt` may refuse a window (the module then logs how
            many were skipped, ``<stage>/skipped``).
    """

    keys: Keys = Keys()
    corruption_key: str | None = None
    order: int = 100
    needs_part_input: bool = False
    part_labels: str = "unused"
    k: int = 0
    refuses_windows: bool = False

    def corrupt(
        self, events: np.ndarray, frame: GraphFrame, sample: dict, rng: np.random.Generator
    ) -> tuple[np.ndarray, dict] | None:
        """Hide part of the window. Returns the remaining events and the targets, or None."""
        return events, {}

    def attach(self, data: Data, targets: dict, rng: np.random.Generator, inputs: NodeInputSpec) -> Data | None:
        """Put targets and query points on the graph (and corrupt the node input blocks
        ``inputs`` names); writes exactly :attr:`keys`."""
        return data

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


class TaskHead(nn.Module):
    """Model side of a task; see the module docstring.

    Attributes:
        outputs: ``{output: level}`` of :meth:`forward`'s outputs (levels as in :class:`Key`,
            or :data:`STAGES`).
        format2_prefix: see the attribute's comment (checkpoint upgrade).
    """

    outputs: dict[str, str] = {}
    #: where the head's weights lay under ``heads.<task>.`` in checkpoints before format 3,
    #: when the head was its network alone: its weights now lie under ``heads.<task>.<prefix>``
    format2_prefix: str = ""

    def forward(self, features, batch) -> dict[str, Tensor]:
        """The outputs on a batch; ``features`` is the backbone's output
        (:class:`~evpose.models.refine.BackboneOutput`: ``features``, ``pos``, ``batch``, ...).
        A head whose task declares :attr:`Task.needs` takes a third argument, ``earlier``:
        ``{task: outputs}`` of those tasks on the same batch."""
        raise NotImplementedError

    def loss(self, out: dict[str, Tensor], batch) -> Tensor:
        raise NotImplementedError

    def losses(self, out: dict[str, Tensor], batch) -> dict[str, Tensor | list[Tensor]]:
        """``{term: loss}`` (a list: one loss per backbone stage; a term left out is not
        computed on this batch); default: the one term ``loss``, :meth:`loss`."""
        return {"loss": self.loss(out, batch)}

    def metrics(self) -> nn.ModuleDict:
        """torchmetrics objects, the model's and the baselines' (keys become log names)."""
        return nn.ModuleDict()

    def update_metrics(self, metrics: nn.ModuleDict, out: dict[str, Tensor], batch) -> None:
        pass

    def observe_training_batch(self, batch, epoch: int) -> None:
        """Called with every training batch after its step (default: nothing; e.g. a
        baseline fitted on the training windows)."""

    def on_validation_start(self, reduce: Callable[[Tensor], Tensor]) -> None:
        """Called before every validation epoch; ``reduce`` sums a tensor over the processes
        (the identity in one process). Default: nothing."""

    @staticmethod
    def decode_queries(decoder: nn.Module, feats, batch, key: Key, query_feat: Tensor | None = None) -> Tensor:
        """Run a :class:`~evpose.models.heads.QueryDecoder` at the points of the query set
        ``key``, with their nearest nodes as the transform found them (``<set>_nbr``), or
        searched here (shared with other heads on the same points) when the batch lacks them."""
        query, query_batch = key.of(batch), batch[f"{key.name}_batch"]
        nbr = nbr_key(key.name)
        if nbr in batch:  # found by the data transform
            nbrs = batch[nbr]
        else:
            nbrs = feats.query_neighbours(query, query_batch, decoder.k, key.name)
        return decoder(feats.features[-1], feats.pos, feats.batch, query, query_batch, feats.num_graphs, nbrs, query_feat)


class Task:
    """A task as a spec names it: the encoder, the head's make, the loss weights.

    Subclasses set :attr:`name` and :attr:`head_class`, and split their spec's values in
    ``__init__`` between the encoder (``super().__init__(weight, encoder, **head_params)``)
    and the head (``head_class(channels, encoder, **head_params)``; override
    :meth:`build_head` for a head with one network per backbone stage).

    Args:
        weight: weight of this task's loss (its main term) in the training objective.
        encoder: the data side.
        head_params: the head's own values.

    Attributes:
        name: short name (docs and messages; the module logs a task under its name in the task list).
        kind: ``"pretext"`` (self-supervised) or ``"pose"`` (trained on pose labels).
        needs: names of the tasks whose outputs the head reads (they come first in the task
            list; the head's ``forward`` gets them as ``earlier``).
        namespaced: the module logs the task's losses and metrics under its name
            (``val/<task>/<metric>``); False: at the top (``val/<metric>``, the pose tasks').
        monitor_metric: the validation metric shown in the progress bar (or None).
        reads_maps: the head reads the backbone's per-node joint maps (``features.maps``);
            without such a task the last stage's maps get no gradient and are not trained.
    """

    name: str = ""
    kind: str = ""
    head_class: type[TaskHead] = TaskHead
    needs: tuple[str, ...] = ()
    namespaced: bool = True
    monitor_metric: str | None = None
    reads_maps: bool = False

    def __init__(self, weight: float, encoder: Encoder, **head_params):
        if weight < 0:
            raise ValueError(f"{self.name}: task weight must be >= 0, got {weight}")
        self.weight = float(weight)
        self.encoder = encoder
        self.head_params = head_params

    def build_head(self, channels: int, num_stages: int = 1) -> TaskHead:
        """The head on a backbone of ``channels`` output features and ``num_stages`` stages
        (one network on the last stage's features by default)."""
        return self.head_class(channels, self.encoder, **self.head_params)

    def check_backbone(self, backbone: nn.Module) -> None:
        """Raise ValueError when the head cannot sit on ``backbone`` (default: any fits)."""

    @property
    def loss_weights(self) -> dict[str, float]:
        """``{term: weight}`` of the head's loss terms (:meth:`TaskHead.losses`)."""
        return {"loss": self.weight}

    @property
    def keys(self) -> Keys:
        """The ``Data`` attributes the encoder writes."""
        return self.encoder.keys

    @property
    def output_levels(self) -> dict[str, str]:
        """``{output: level}`` of the head's outputs."""
        return dict(self.head_class.outputs)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.head_params.items())
        return f"{type(self).__name__}(weight={self.weight:g}, encoder={self.encoder!r}{', ' if params else ''}{params})"
