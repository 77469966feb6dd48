"""The LightningModule of evpose, :class:`TaskModule`: a backbone trained on an ordered list of
tasks (pretraining: pretext tasks; fine-tuning: pose tasks), and its checkpoints."""

from .build import TargetError, allow_targets, allowed_targets
from .checkpoints import CheckpointError, load_backbone_weights, read_checkpoint, read_checkpoint_data
from .learning_curve import LearningCurve
from .task import TaskModule

__all__ = [
    "CheckpointError",
    "LearningCurve",
    "TargetError",
    "TaskModule",
    "allow_targets",
    "allowed_targets",
    "load_backbone_weights",
    "read_checkpoint",
    "read_checkpoint_data",
]
