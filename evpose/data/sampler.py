"""A resumable sampler: each epoch's order depends on (seed, epoch) only.

Like ``DistributedSampler``, it is told the epoch (Lightning calls ``set_epoch`` before
every epoch), so no state is carried from one epoch to the next; a resumed run that
sets the same epoch gets the same order, and :meth:`EpochSampler.resume` also skips the
batches a checkpoint taken in the middle of an epoch had already trained on.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import Sampler

from .rng_state import rng_states

#: How many recent batch starts keep a snapshot of the random generators.
SNAPSHOTS = 8


class EpochSampler(Sampler[int]):
    """Indices ``0 .. num_samples - 1``: a permutation drawn from ``(seed, epoch)`` (or in
    order without ``shuffle``).

    It also snapshots the process's random generators at the start of every batch (the
    state before that batch's samples are made, in the main process): a checkpoint
    taken in the middle of an epoch stores the state before the first batch it has not
    trained on (:meth:`rng_before`), whether or not the loader has fetched it already.

    Args:
        num_samples: length of the dataset.
        batch_size: samples per batch (where the snapshots are taken).
        seed: seed of the permutations (default 0).
        shuffle: permute (default True) or keep the order.
        generator: a generator reseeded from ``(seed, epoch)`` at every epoch; give the
            DataLoader the same one, so that its workers' seeds follow the epoch too.
    """

    def __init__(self, num_samples: int, batch_size: int, seed: int = 0, shuffle: bool = True,
                 generator: torch.Generator | None = None):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.num_samples, self.batch_size = int(num_samples), int(batch_size)
        self.seed, self.shuffle, self.generator = int(seed), bool(shuffle), generator
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
        """(num_samples,) the indices of an epoch, in order."""
        if not self.shuffle:
            return np.arange(self.num_samples)
        return np.random.default_rng([self.seed, int(epoch)]).permutation(self.num_samples)

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
        order = self.order(epoch)
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
