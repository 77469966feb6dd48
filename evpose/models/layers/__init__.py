"""Graph layers: PyG convolutions behind one convention, the residual block, MLPs."""

from .block import GraphConvBlock
from .convs import EdgeConvLayer, GATv2Layer, PointConvLayer, PointNetLayer, PointTransformerLayer
from .mlp import mlp

__all__ = ["EdgeConvLayer", "GATv2Layer", "GraphConvBlock", "PointConvLayer", "PointNetLayer", "PointTransformerLayer", "mlp"]
