"""Heads on the backbone's node features: tensors out, no loss inside."""

from .joints2d import Joints2DHead
from .joints3d import Joints3DHead
from .parts import PartsHead

__all__ = ["Joints2DHead", "Joints3DHead", "PartsHead"]
