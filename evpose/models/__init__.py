"""GNN hourglass backbone with refinement stages, multi-task heads, losses."""

from .hourglass import GraphHourglass
from .layers import EdgeConvLayer, GATv2Layer, GraphConvBlock, PointConvLayer, PointNetLayer, PointTransformerLayer
from .pyramid import GraphLevel, build_pyramid
from .refine import BackboneOutput, RefinementStack

__all__ = [
    "BackboneOutput",
    "EdgeConvLayer",
    "GATv2Layer",
    "GraphConvBlock",
    "GraphHourglass",
    "GraphLevel",
    "PointConvLayer",
    "PointNetLayer",
    "PointTransformerLayer",
    "RefinementStack",
    "build_pyramid",
]
