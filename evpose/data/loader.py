"""Batching event graphs: PyG collation that drops (and counts) skipped windows."""

from __future__ import annotations

from typing import Sequence

import torch
from torch.utils.data import DataLoader
from torch_geometric.data import Batch


class SkippingCollater:
    """Collate PyG ``Data`` objects into a ``Batch``, dropping ``None`` samples.

    The batch carries ``num_skipped`` (a 0-d int tensor): how many samples of this batch
    a transform refused, so the training loop can log them. A batch in which every
    sample was skipped comes out as None (Lightning then skips the step).

    Args:
        follow_batch: attributes to build ``<name>_batch`` vectors for (as PyG's loader).
        exclude_keys: attributes left out of the batch.
    """

    def __init__(self, follow_batch: Sequence[str] = (), exclude_keys: Sequence[str] = ()):
        self.follow_batch = list(follow_batch)
        self.exclude_keys = list(exclude_keys)

    def __call__(self, samples):
        kept = [s for s in samples if s is not None]
        if not kept:
            return None
        batch = Batch.from_data_list(kept, follow_batch=self.follow_batch, exclude_keys=self.exclude_keys)
        batch.num_skipped = torch.tensor(len(samples) - len(kept))
        return batch


def make_loader(dataset, batch_size: int, shuffle: bool, num_workers: int, collate_fn, seed: int = 0) -> DataLoader:
    """A DataLoader with a seeded shuffle generator and persistent workers."""
    g = torch.Generator()
    g.manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        collate_fn=collate_fn,
        generator=g,
        persistent_workers=num_workers > 0,
    )
