"""Heads on the backbone's node features: tensors out, no loss inside.

Pose heads (:class:`Joints2DHead`, :class:`Joints3DHead`, :class:`PartsHead`) and the
interface the pretext tasks plug into: :class:`NodeHead` (per-node outputs), :class:`LabelPropagationHead`
(per-node classes started from the labels shown nearby) and
:class:`QueryDecoder` (outputs at query points joined to the graph by k nearest nodes).
"""

from .joints2d import Joints2DHead
from .joints3d import Joints3DHead
from .label_propagation import LabelPropagationHead
from .parts import PartsHead
from .query import NodeHead, QueryDecoder

__all__ = ["Joints2DHead", "Joints3DHead", "LabelPropagationHead", "NodeHead", "PartsHead", "QueryDecoder"]
