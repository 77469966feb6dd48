"""The pretraining transform: corrupt a window for the enabled tasks, build its graph,
attach every task's targets."""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from scipy.spatial import cKDTree

from ..data.graph_data import EventGraphData, nbr_key
from ..data.node_inputs import NodeInputSpec
from ..data.part_input import part_input
from ..types import NUM_PARTS
from ..tasks.base import GraphFrame, Task


class PretextTransform:
    """Window sample (dict from :class:`evpose.data.EventWindowDataset`) -> corrupted event
    graph with the targets of every enabled pretext task, or None when a corruption leaves
    the window unusable (the loader drops and counts it).

    Runs the tasks' encoders (:class:`~evpose.tasks.Encoder`), in their ``order``:
    (optional) part labelling of the events; each distinct event corruption (encoders sharing a
    ``corruption_key`` share one corruption, the first one's parameters); the graph of the
    remaining events; the part-input channels (all masked; none with ``num_parts = 0``); each
    encoder's ``attach`` (given :attr:`input_spec`) (targets, query points, node-level masking);
    for every query set the encoders declare, its ``k`` nearest nodes (``<name>_query_nbr``, k the
    largest of the encoders using it), found here with a k-d tree so the loader's workers do
    it, not the model.

    Args:
        graph: the event-graph transform (:class:`evpose.graph.EventGraphTransform`).
        tasks: the enabled tasks (``{name: task}`` or a list of
            :class:`~evpose.tasks.Task`; e.g. ``TaskModule.tasks``, so one spec
            gives both sides).
        num_parts: P of the part-input channels (0: no part input).
        min_nodes: windows whose graph has fewer nodes are skipped.
        seed: None (training): fresh corruptions every time, drawn from torch's RNG so
            seeded runs repeat; an int (validation): the corruption of a window depends only
            on ``(seed, window index)``, the same every epoch.
        part_labeller: optional sample transform giving events a ``part`` field (data
            without per-event labels, e.g. DHP19).
    """

    def __init__(
        self,
        graph: Callable,
        tasks: Mapping[str, Task] | Sequence[Task],
        num_parts: int = NUM_PARTS,
        min_nodes: int = 32,
        seed: int | None = None,
        part_labeller: Callable | None = None,
    ):
        task_list = list(tasks.values()) if isinstance(tasks, Mapping) else list(tasks)
        if not task_list:
            raise ValueError("PretextTransform needs at least one pretext task")
        self.graph = graph
        self.tasks = sorted(task_list, key=lambda t: t.encoder.order)
        self.num_parts, self.min_nodes, self.seed = int(num_parts), int(min_nodes), seed
        needing = [t.name for t in self.tasks if t.encoder.needs_part_input]
        if needing and not self.num_parts:
            raise ValueError(
                f"pretext task(s) {', '.join(needing)} work on the part-label input, which num_parts=0 leaves out "
                "(model.num_parts=0); leave them out, e.g. pretext=[inpaint,count,future]"
            )
        self.part_labeller = part_labeller

    @property
    def input_spec(self) -> NodeInputSpec:
        """The layout of the node features this transform makes."""
        return NodeInputSpec(self.graph.tore_k, self.num_parts)

    @property
    def query_keys(self) -> list[str]:
        """The query sets the encoders declare (for the loader's ``follow_batch``)."""
        return sorted({k for t in self.tasks for k in t.keys.queries})

    @property
    def output_levels(self) -> dict[str, dict[str, str]]:
        """``{task: {output: level}}`` of the tasks' head outputs (for cutting a batch's
        outputs into windows, :func:`evpose.viz.unbatch_window`)."""
        return {t.name: t.output_levels for t in self.tasks}

    def rng(self, sample: dict) -> np.random.Generator:
        if self.seed is None:
            return np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))
        return np.random.default_rng([int(self.seed), int(sample.get("index", 0))])

    def frame(self, sample: dict) -> GraphFrame:
        cam, window = sample["camera"], sample["window"]
        beta = float(self.graph.time_scale_px) / float(self.graph.time_scale_us)
        return GraphFrame(int(window.t_start), beta, cam.height, cam.width, int(window.t_end))

    def __call__(self, sample: dict):
        rng = self.rng(sample)
        if self.part_labeller is not None:
            sample = self.part_labeller(sample)
        frame = self.frame(sample)
        events = sample["events"]
        shared: dict[str, dict] = {}
        for task in self.tasks:
            key = task.encoder.corruption_key
            if key is None or key in shared:
                continue
            result = task.encoder.corrupt(events, frame, sample, rng)
            if result is None:
                return None
            events, shared[key] = result
        data = self.graph({**sample, "events": events})
        if data.num_nodes < self.min_nodes:
            return None
        if self.num_parts:
            data.x = torch.cat([data.x, part_input(data.num_nodes, self.num_parts)], dim=1)
        inputs = self.input_spec
        for task in self.tasks:
            data = task.encoder.attach(data, shared.get(task.encoder.corruption_key, {}), rng, inputs)
            if data is None:
                return None
        data = EventGraphData(**{k: v for k, v in data})
        for key, k in self.query_k.items():
            data[nbr_key(key)] = query_neighbours(data.pos, data[key], k)
        return data

    @property
    def query_k(self) -> dict[str, int]:
        """Neighbours to find per query set: the largest ``k`` of the encoders using it."""
        out: dict[str, int] = {}
        for t in self.tasks:
            for key in t.keys.queries:
                out[key] = max(out.get(key, 0), int(t.encoder.k))
        return out

    def __repr__(self) -> str:
        return f"PretextTransform(tasks={[t.name for t in self.tasks]}, graph={self.graph!r}, seed={self.seed})"


def query_neighbours(pos: torch.Tensor, query: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k`` nearest nodes of every query (all nodes if fewer), exact, by k-d tree.

    Shapes:
        pos: (N, 3), query: (Q, 3) -> (2, Q * min(k, N)) int64, row 0 query, row 1 node,
        sorted by query then distance
    """
    n, q = pos.shape[0], query.shape[0]
    kk = min(int(k), n)
    if kk == 0 or q == 0:
        return torch.zeros(2, 0, dtype=torch.long)
    _, idx = cKDTree(pos.double().numpy()).query(query.double().numpy(), k=kk)
    idx = np.asarray(idx, dtype=np.int64).reshape(q, kk)
    rows = np.repeat(np.arange(q, dtype=np.int64), kk)
    return torch.from_numpy(np.stack([rows, idx.reshape(-1)]))
