"""Batching event graphs: PyG collation that drops (and counts) skipped windows."""

from __future__ import annotations

from typing import Sequence

import torch
from torch.utils.data import DataLoader
from torch_geometric.data import Batch

from .sampler import EpochSampler


class RefusedBatch:
    """A training batch in which a transform refused every window (the collate gave None).

    :meth:`EventDataModule.on_before_batch_transfer` hands this to the training step instead
    of None, which Lightning would skip on its process alone (under DDP that process would
    then run a step behind the others and the collectives would pair wrong steps or wait
    forever); :class:`evpose.modules.TaskModule` skips the step on every process.

    Attributes:
        num_graphs: 0.
    """

    num_graphs = 0

    def __repr__(self) -> str:
        return "RefusedBatch()"


class SkippingCollater:
    """Collate PyG ``Data`` objects into a ``Batch``, dropping ``None`` samples.

    The batch carries ``num_skipped`` (a 0-d int tensor): how many samples of this batch
    a transform refused, so the training loop can log them. A batch in which every
    sample was skipped comes out as None (a training step receives it as :class:`RefusedBatch`).

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


def make_loader(dataset, batch_size: int, shuffle: bool, num_workers: int, collate_fn, seed: int = 0,
                persistent_workers: bool | None = None, num_replicas: int = 1, rank: int = 0) -> DataLoader:
    """A DataLoader whose order and worker seeds depend on ``(seed, epoch)`` only
    (:class:`~evpose.data.sampler.EpochSampler`; Lightning sets the epoch), so that a
    resumed run sees the batches of the run that was never interrupted.

    Args:
        persistent_workers: keep the workers from epoch to epoch (default: when there are
            workers and no shuffle). A training loader starts new workers every epoch, so
            that their random generators start from the epoch's seed.
        num_replicas, rank: under DDP, the number of processes and this one's rank: the
            loader gives this process's share of every epoch (default 1, 0: all of it).
    """
    g = torch.Generator()
    sampler = EpochSampler(len(dataset), batch_size, seed=seed, shuffle=shuffle, generator=g,
                           num_replicas=num_replicas, rank=rank)
    if persistent_workers is None:
        persistent_workers = num_workers > 0 and not shuffle
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate_fn,
        generator=g,
        persistent_workers=bool(persistent_workers) and num_workers > 0,
    )
