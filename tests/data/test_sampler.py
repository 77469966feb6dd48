"""EpochSampler: the order of an epoch depends on (seed, epoch) only; resume skips batches;
the generators' states before a batch are known whether it was fetched or not."""

from __future__ import annotations

import numpy as np
import torch

from evpose.data.loader import make_loader
from evpose.data.rng_state import rng_states, set_rng_states
from evpose.data.sampler import EpochSampler


def test_order_is_a_function_of_seed_and_epoch():
    a, b = EpochSampler(10, 3, seed=4), EpochSampler(10, 3, seed=4)
    list(a), list(a)  # iterating twice does not advance anything
    for epoch in (0, 1, 5):
        a.set_epoch(epoch)
        b.set_epoch(epoch)
        assert list(a) == list(b) == np.random.default_rng([4, epoch]).permutation(10).tolist()
    a.set_epoch(0)
    b.set_epoch(1)
    assert list(a) != list(b) and sorted(a) == list(range(10))
    assert list(EpochSampler(5, 2, shuffle=False)) == [0, 1, 2, 3, 4]


def test_resume_skips_whole_batches_once():
    s = EpochSampler(10, 3, seed=1)
    s.set_epoch(2)
    full = list(s)
    s.resume(2, 2)
    assert list(s) == full[6:]
    assert list(s) == full  # only the next iteration skips


def test_rng_before_a_batch():
    s = EpochSampler(8, 2, seed=0)
    it = iter(s)
    torch.manual_seed(3)
    before0 = rng_states()
    next(it), next(it)  # batch 0 fetched
    torch.rand(5)  # its samples draw
    assert torch.equal(s.rng_before(0, 0)["torch"], before0["torch"])
    now = rng_states()
    assert torch.equal(s.rng_before(0, 1)["torch"], now["torch"])  # not fetched yet: the present state
    assert s.rng_before(0, 3) is None
    set_rng_states(before0)
    assert torch.equal(torch.get_rng_state(), before0["torch"])


def test_loader_worker_seed_follows_the_epoch():
    loader = make_loader(list(range(6)), batch_size=2, shuffle=True, num_workers=0, collate_fn=list, seed=7)
    loader.sampler.set_epoch(3)
    first = [list(loader), loader.generator.initial_seed()]
    loader.sampler.set_epoch(4)
    list(loader)
    loader.sampler.set_epoch(3)
    assert [list(loader), loader.generator.initial_seed()] == first


def test_shards_interleave_to_the_one_process_order():
    """Under DDP process r takes windows r, r + W, ... of the one-process order (padded from its
    start to a multiple of W), so global batch b holds batch b of one process with W x B; being
    a DistributedSampler, Lightning does not wrap (and reshuffle) it."""
    from torch.utils.data import DistributedSampler

    one = EpochSampler(7, 2, seed=3)
    one.set_epoch(1)
    full = list(one)
    shards = [EpochSampler(7, 1, seed=3, num_replicas=2, rank=r) for r in range(2)]
    for s in shards:
        s.set_epoch(1)
        assert isinstance(s, DistributedSampler) and len(s) == 4
    a, b = (list(s) for s in shards)
    assert [i for pair in zip(a, b) for i in pair] == full + full[:1]
    shards[1].resume(1, 2)
    assert list(shards[1]) == b[2:]
    val = [list(EpochSampler(5, 1, shuffle=False, num_replicas=2, rank=r)) for r in range(2)]
    assert val == [[0, 2, 4], [1, 3, 0]]  # as Lightning's DistributedSampler pads the validation set
