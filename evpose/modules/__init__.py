"""LightningModules: self-supervised pretraining and pose fine-tuning, on one training loop
(:class:`~evpose.modules.training.TrainingModule`)."""

from .build import TargetError, allow_targets, allowed_targets
from .checkpoints import CheckpointError, load_backbone_weights, read_checkpoint, read_checkpoint_data
from .finetune import FinetuneModule
from .learning_curve import LearningCurve
from .pretrain import PretrainModule
from .training import TrainingModule

__all__ = [
    "CheckpointError",
    "FinetuneModule",
    "LearningCurve",
    "PretrainModule",
    "TargetError",
    "TrainingModule",
    "allow_targets",
    "allowed_targets",
    "load_backbone_weights",
    "read_checkpoint",
    "read_checkpoint_data",
]
