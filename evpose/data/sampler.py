"""A resumable sampler: each epoch's order depends on (seed, epoch) only.

Like ``DistributedSampler``, it is told the epoch (Lightning calls ``set_epoch`` before
every epoch), so no state is carried from one epoch to the next; a resumed run that
sets the same epoch gets the same order, and :meth:`EpochSampler.resume` also skips the
batches a checkpoint taken in the middle of an epoch had already trained on.

Under DDP it shards the epoch's order itself (process r of W takes windows r, r + W,
r + 2W, ... of the one-process order), so the global batch b of W processes with batch
B holds the windows of batch b of one process with batch W x B. It is a
``DistributedSampler`` for that reason: Lightning leaves such a sampler alone, where it
would wrap any other in its own ``DistributedSampler``, which shuffles the order again
with its own seed (the global batches then hold other windows than one process's).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import DistributedSampler

from .rng_state import rng_states

#: How many recent batch starts keep a snapshot of the random generators.
SNAPSHOTS = 8


class EpochSampler(DistributedSampler):
    """Indices ``0 .. dataset_size - 1``: a permutation drawn from ``(seed, epoch)`` (or in
    order without ``shuffle``); with ``num_replicas`` W > 1, this process's share of it:
    the order is padded with its first indices to a multiple of W (as ``DistributedSampler``
    does: a few windows count twice) and process ``rank`` takes every W-th from ``rank`` on.

    It also snapshots the process's random generators at the start of every batch (the
    state before that batch's samples are made, in the main process): a checkpoint
    taken in the middle of an epoch stores the state before the first batch it has not
    trained on (:meth:`rng_before`), whether or not the loader has fetched it already.

    Args:
        dataset_size: length of the dataset.
        batch_size: samples per batch of this process (where the snapshots are taken).
        seed: seed of the permutations (default 0).
        shuffle: permute (default True) or keep the order.
        generator: a generator reseeded from ``(seed, epoch)`` at every epoch; give the
            DataLoader the same one, so that its workers' seeds follow the epoch too.
        num_replicas, rank: the number of processes sharing the epoch and this one's rank
            (default 1 and 0: the whole order).
    """

    def __init__(self, dataset_size: int, batch_size: int, seed: int = 0, shuffle: bool = True,
                 generator: torch.Generator | None = None, num_replicas: int = 1, rank: int = 0):
        # (DistributedSampler.__init__ is not called: it wants a dataset and may ask the process group)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"rank must be in [0, num_replicas - 1], got rank={rank}, num_replicas={num_replicas}")
        self.dataset_size, self.batch_size = int(dataset_size), int(batch_size)
        self.seed, self.shuffle, self.generator = int(seed), bool(shuffle), generator
        self.num_replicas, self.rank, self.drop_last = int(num_replicas), int(rank), False
        # DistributedSampler's meaning: the indices of this process, of all of them
        self.num_samples = -(-self.dataset_size // self.num_replicas) if self.dataset_size else 0
        self.total_size = self.num_samples * self.num_replicas
        self._skip_batches = 0
        self._snapshots: OrderedDict[tuple[int, int], dict] = OrderedDict()
        self._started: tuple[int, int] | None = None  # (epoch, batch) of the last batch begun
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose order the next iteration gives."""
        self.epoch = int(epoch)
        if self.generator is not None:
            self.generator.manual_seed(int(np.random.SeedSequence([self.seed, self.epoch, 1]).generate_state(1, np.uint64)[0] >> 1))

    def resume(self, epoch: int, skip_batches: int) -> None:
        """Continue epoch ``epoch`` after its first ``skip_batches`` batches (next iteration only)."""
        self.set_epoch(epoch)
        self._skip_batches = int(skip_batches)

    def order(self, epoch: int) -> np.ndarray:
        """(dataset_size,) the indices of an epoch, in order (all processes')."""
        if not self.shuffle:
            return np.arange(self.dataset_size)
        return np.random.default_rng([self.seed, int(epoch)]).permutation(self.dataset_size)

    def shard(self, epoch: int) -> np.ndarray:
        """(num_samples,) this process's indices of an epoch, in order."""
        order = self.order(epoch)
        if self.num_replicas == 1:
            return order
        order = np.resize(order, self.total_size)  # pads by repeating from the start
        return order[self.rank :: self.num_replicas]

    def rng_before(self, epoch: int, batch: int) -> dict | None:
        """The random generators' states just before batch ``batch`` of ``epoch`` was made:
        its snapshot when it was fetched already, the present states when it was not (the
        next batch to fetch), None when unknown (fetched too long ago)."""
        key = (int(epoch), int(batch))
        if key in self._snapshots:
            return self._snapshots[key]
        if self._started is not None and key == (self._started[0], self._started[1] + 1):
            return rng_states()
        return None

    def __iter__(self) -> Iterator[int]:
        epoch, skip = self.epoch, self._skip_batches
        self._skip_batches = 0
        order = self.shard(epoch)
        self._started = (epoch, skip - 1)
        for j, i in enumerate(order[skip * self.batch_size :].tolist()):
            if j % self.batch_size == 0:
                self._started = (epoch, skip + j // self.batch_size)
                self._snapshots[self._started] = rng_states()
                while len(self._snapshots) > SNAPSHOTS:
                    self._snapshots.popitem(last=False)
            yield i

    def __len__(self) -> int:
        return self.num_samples
