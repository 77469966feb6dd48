"""LightningModules: self-supervised pretraining and pose fine-tuning."""

from .pretrain import PretrainModule

__all__ = ["PretrainModule"]
