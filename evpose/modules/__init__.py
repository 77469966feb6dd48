"""LightningModules: self-supervised pretraining and pose fine-tuning."""

from .build import TargetError, allow_targets, allowed_targets
from .checkpoints import CheckpointError, load_backbone_weights, read_checkpoint, read_checkpoint_data
from .finetune import FinetuneModule
from .learning_curve import LearningCurve
from .pretrain import PretrainModule

__all__ = [
    "CheckpointError",
    "FinetuneModule",
    "LearningCurve",
    "PretrainModule",
    "TargetError",
    "allow_targets",
    "allowed_targets",
    "load_backbone_weights",
    "read_checkpoint",
    "read_checkpoint_data",
]
