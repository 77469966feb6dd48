"""The PyG ``Data`` class of event graphs with query points.

Pretext tasks put query points on a graph (``<name>_query_pos``, (Q, 3)) and, computed in
the data-loading workers, the nearest graph nodes of every query (``<name>_query_nbr``,
(2, E): row 0 the query, row 1 the node). When graphs are batched, row 0 must be shifted by
the number of queries and row 1 by the number of nodes of the graphs before: this class
tells PyG so.
"""

from __future__ import annotations

import torch
from torch_geometric.data import Data

NBR_SUFFIX = "_query_nbr"


def nbr_key(query_key: str) -> str:
    """``box_query_pos`` -> ``box_query_nbr``."""
    if not query_key.endswith("_query_pos"):
        raise ValueError(f"query keys end in '_query_pos', got {query_key!r}")
    return query_key[: -len("_pos")] + "_nbr"


class EventGraphData(Data):
    """``Data`` with batching rules for ``*_query_nbr`` (query -> node) edges."""

    def __inc__(self, key, value, *args, **kwargs):
        if key.endswith(NBR_SUFFIX):
            q = self[key[: -len("_nbr")] + "_pos"].size(0)
            return torch.tensor([[q], [self.num_nodes]])
        return super().__inc__(key, value, *args, **kwargs)

    def __cat_dim__(self, key, value, *args, **kwargs):
        if key.endswith(NBR_SUFFIX):
            return 1
        return super().__cat_dim__(key, value, *args, **kwargs)
