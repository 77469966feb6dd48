"""LightningModules: self-supervised pretraining and pose fine-tuning."""

from .checkpoints import CheckpointError, load_backbone_weights, read_checkpoint
from .finetune import FinetuneModule
from .pretrain import PretrainModule

__all__ = ["CheckpointError", "FinetuneModule", "PretrainModule", "load_backbone_weights", "read_checkpoint"]
