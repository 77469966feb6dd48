"""Tasks: what the shared backbone is trained on, each an encoder (data side) and a head (model
side) made from one spec (the contract: :mod:`evpose.tasks.base`).

- the pose tasks, trained on the window labels, one file each:
  :mod:`~evpose.tasks.joints2d` (2D joints, with the mean-pose baseline),
  :mod:`~evpose.tasks.joints3d` (3D joints; reads the 2D task's outputs),
  :mod:`~evpose.tasks.parts` (a body part per node);
- the pretext tasks (self-supervised): :mod:`evpose.pretext`.

:class:`TaskNet` is the backbone with the heads of an ordered list of tasks;
:class:`~evpose.modules.TaskModule` trains one (pretraining: pretext tasks; fine-tuning: pose
tasks; any mix).
"""

from .base import EDGES, NODE, STAGES, WINDOW, Encoder, GraphFrame, Key, Keys, Task, TaskHead
from .joints2d import Joints2DLabels, Joints2DTask, Joints2DTaskHead
from .joints3d import Joints3DLabels, Joints3DTask, Joints3DTaskHead, pose_targets
from .net import TaskNet, check_task_order
from .parts import PartLabels, PartsTask, PartsTaskHead

POSE_TASK_CLASSES = (Joints2DTask, Joints3DTask, PartsTask)

__all__ = [
    "EDGES",
    "NODE",
    "POSE_TASK_CLASSES",
    "STAGES",
    "WINDOW",
    "Encoder",
    "GraphFrame",
    "Joints2DLabels",
    "Joints2DTask",
    "Joints2DTaskHead",
    "Joints3DLabels",
    "Joints3DTask",
    "Joints3DTaskHead",
    "Key",
    "Keys",
    "PartLabels",
    "PartsTask",
    "PartsTaskHead",
    "Task",
    "TaskHead",
    "TaskNet",
    "check_task_order",
    "pose_targets",
]
