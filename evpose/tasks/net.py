"""The network of a list of tasks: the shared backbone and each task's head."""

from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import Tensor, nn

from ..models.refine import BackboneOutput
from .base import Task


def check_task_order(tasks: Mapping[str, Task]) -> None:
    """Every task's needed tasks (:attr:`Task.needs`) come before it in ``tasks``.

    Raises:
        ValueError: naming the task and what it needs.
    """
    seen: list[str] = []
    for name, task in tasks.items():
        for need in task.needs:
            if need not in seen:
                where = "comes after it" if need in tasks else "is not in the task list"
                raise ValueError(f"task {name!r} reads the outputs of task {need!r}, which {where}; "
                                 f"list {need!r} before {name!r} (tasks: {', '.join(tasks)})")
        seen.append(name)


class TaskNet(nn.Module):
    """A backbone and the heads of an ordered ``{name: task}``: ``forward(batch) ->
    {task: its outputs}``, the heads run in the tasks' order, each given the outputs of the
    tasks it needs (:attr:`Task.needs`). The heads are built here, after the backbone, in
    the tasks' order (so a seed gives the same weights).

    Args:
        backbone: a built :class:`~evpose.models.RefinementStack`.
        tasks: ``{name: Task}`` (kept as :attr:`tasks`).

    Raises:
        ValueError: a task needing one that does not come before it, or a head that does not
            fit the backbone (e.g. another number of joint maps).
    """

    def __init__(self, backbone: nn.Module, tasks: Mapping[str, Task]):
        super().__init__()
        check_task_order(tasks)
        for task in tasks.values():
            task.check_backbone(backbone)
        self.backbone = backbone
        self.heads = nn.ModuleDict(
            {name: task.build_head(backbone.channels, backbone.num_stages) for name, task in tasks.items()}
        )
        self.needs = {name: tuple(task.needs) for name, task in tasks.items()}
        #: ``{name: Task}`` (plain objects, not modules)
        self.tasks: dict[str, Task] = dict(tasks)

    def forward(self, batch, only: Sequence[str] | None = None) -> dict[str, dict[str, Tensor]]:
        return self.decode(self.encode(batch), batch, only)

    def encode(self, batch) -> BackboneOutput:
        """The backbone's output on a batch (or a single graph)."""
        node_batch = batch.batch if getattr(batch, "batch", None) is not None else batch.x.new_zeros(
            batch.num_nodes, dtype=torch.long)
        num_graphs = int(getattr(batch, "num_graphs", 1) or 1)
        return self.backbone(batch.x, batch.pos, node_batch, batch.edge_index, num_graphs,
                             cam_R=getattr(batch, "cam_R", None))

    def decode(self, features: BackboneOutput, batch, only: Sequence[str] | None = None) -> dict[str, dict[str, Tensor]]:
        """Every head's outputs (or those of the tasks ``only``, which must hold the tasks
        they need), in the tasks' order."""
        outs: dict[str, dict[str, Tensor]] = {}
        for name, head in self.heads.items():
            if only is not None and name not in only:
                continue
            needs = self.needs[name]
            outs[name] = head(features, batch, {n: outs[n] for n in needs}) if needs else head(features, batch)
        return outs
