"""Event graphs: radius and knn neighbourhoods by spatial hashing (pure torch, CPU and
CUDA, batched), voxel clustering with pool/unpool, and the events -> PyG ``Data``
builder with its dataset transform.

Edge convention (PyG's, as torch_cluster): for graphs built on one point set,
``edge_index[0]`` is the neighbour j (message source) and ``edge_index[1]`` the centre
i, so PyG's ``MessagePassing`` aggregates at the centre. The bipartite ``radius`` and
``knn`` return row 0 = query (``y``) index, row 1 = index into ``x``, as torch_cluster.
"""

from .build import EventGraphTransform, build_event_graph, relative_offsets, subsample_indices
from .knn import knn, knn_graph
from .radius import radius, radius_graph, radius_pairs
from .voxel import pool_edge_index, unpool, voxel_cluster, voxel_pool

__all__ = [
    "EventGraphTransform",
    "build_event_graph",
    "knn",
    "knn_graph",
    "pool_edge_index",
    "radius",
    "radius_graph",
    "radius_pairs",
    "relative_offsets",
    "subsample_indices",
    "unpool",
    "voxel_cluster",
    "voxel_pool",
]
