"""The hashing primitives: range expansion (numpy and torch paths), stable sort, per-segment
selection, neighbour segments."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from evpose.graph.hashing import NeighbourSegments
from evpose.graph.ops import _expand_ranges_torch, expand_ranges, segment_smallest, sort_stable


def test_expand_ranges_matches_loop():
    rng = np.random.default_rng(0)
    starts = torch.from_numpy(rng.integers(0, 100, 50))
    lengths = torch.from_numpy(rng.integers(0, 4, 50))
    lengths[:3] = 0  # leading empty ranges
    owner_ref, values_ref = [], []
    for r in range(50):
        for v in range(int(starts[r]), int(starts[r] + lengths[r])):
            owner_ref.append(r // 5), values_ref.append(v)
    for fn in (expand_ranges, _expand_ranges_torch):
        owner, values = fn(starts, lengths, 5)
        assert owner.tolist() == owner_ref and values.tolist() == values_ref
    owner, values = expand_ranges(starts, torch.zeros(50, dtype=torch.int64))
    assert owner.numel() == 0 and values.numel() == 0


def test_sort_stable_keeps_order_of_equal_keys():
    rng = np.random.default_rng(1)
    keys = torch.from_numpy(rng.integers(0, 5, 200))
    s, perm = sort_stable(keys)
    ref = np.argsort(keys.numpy(), kind="stable")
    assert perm.tolist() == ref.tolist() and s.tolist() == keys.numpy()[ref].tolist()
    big = torch.tensor([1 << 61, 5, 1 << 61, 0])  # too wide to pack: torch path
    assert sort_stable(big)[1].tolist() == [3, 1, 0, 2]


def test_segment_smallest_breaks_ties_by_index():
    seg = torch.tensor([0, 0, 0, 1, 1, 0, 2])
    score = torch.tensor([1.0, 0.5, 1.0, 3.0, 2.0, 1.0, 0.0])
    index = torch.tensor([9, 4, 2, 0, 1, 5, 3])
    keep = segment_smallest(seg, score, index, 2)
    # segment 0: 0.5 (idx 4), then the 1.0 with smallest index (2)
    assert keep.tolist() == [False, True, True, True, True, False, True]


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("outer,inner", [(1, -1), (2, 1), (4, 2)])
def test_segments_cover_the_shell_once(dim, outer, inner):
    seg = NeighbourSegments(dim, outer, inner)
    cells = []
    for row, lo, hi in zip(seg.rows.tolist(), seg.lo.tolist(), seg.hi.tolist()):
        cells += [(x, *row) for x in range(lo, hi + 1)]
    want = [c for c in itertools.product(range(-outer, outer + 1), repeat=dim) if inner < max(map(abs, c)) <= outer]
    assert sorted(cells) == sorted(want)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_forward_half_covers_each_neighbour_pair_once(dim):
    seg = NeighbourSegments.forward_half(dim)
    cells = []
    for row, lo, hi in zip(seg.rows.tolist(), seg.lo.tolist(), seg.hi.tolist()):
        cells += [(x, *row) for x in range(lo, hi + 1)]
    offsets = set(cells) - {(0,) * dim}
    allofs = set(itertools.product((-1, 0, 1), repeat=dim)) - {(0,) * dim}
    assert len(offsets) == len(cells) - 1 == len(allofs) // 2
    assert offsets | {tuple(-v for v in o) for o in offsets} == allofs
