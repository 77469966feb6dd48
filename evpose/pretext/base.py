"""What makes a task a pretext task: self-supervised, its losses and metrics logged under its
name. The contract itself (encoder, head, keys) is :mod:`evpose.tasks.base`."""

from __future__ import annotations

from ..tasks.base import Task


class PretextTask(Task):
    """A self-supervised task (see :class:`evpose.tasks.Task`): its encoder corrupts the
    window and its head predicts what was hidden; logged as ``<stage>/<task>/...``."""

    kind = "pretext"
