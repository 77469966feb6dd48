"""Sample -> graph transforms for pose training and inference."""

from __future__ import annotations

from typing import Callable

from .node_inputs import NodeInputSpec
from .part_input import AppendPartInput


class PoseGraphTransform:
    """Window sample -> event graph with its pose targets, in the layout the pose network
    expects: the graph transform's node features plus the part-input channels, all masked
    (see :mod:`evpose.data.part_input`).

    Args:
        graph: the event-graph transform (:class:`evpose.graph.EventGraphTransform`).
        num_parts: P of the part-input channels (0: none).
        part_labeller: optional sample transform giving events a ``part`` field (data without
            per-event labels, e.g. DHP19), so the parts head has targets.
    """

    def __init__(self, graph: Callable, num_parts: int, part_labeller: Callable | None = None):
        self.graph = graph
        self.num_parts = int(num_parts)
        self.part_input = AppendPartInput(num_parts) if num_parts else None
        self.part_labeller = part_labeller

    @property
    def input_spec(self) -> NodeInputSpec:
        """The layout of the node features this transform makes."""
        return NodeInputSpec(self.graph.tore_k, self.num_parts)

    def __call__(self, sample: dict):
        if self.part_labeller is not None:
            sample = self.part_labeller(sample)
        data = self.graph(sample)
        return self.part_input(data) if self.part_input is not None else data

    def __repr__(self) -> str:
        return f"PoseGraphTransform(graph={self.graph!r}, num_parts={self.num_parts})"
