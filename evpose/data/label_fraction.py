"""Which labelled recordings a label-efficiency run trains on."""

from __future__ import annotations

import math

import numpy as np


def label_subset_size(num_recordings: int, fraction: float) -> int:
    """How many of ``num_recordings`` a ``fraction`` keeps: ``fraction * num_recordings``
    rounded half up, at least one.

    Args:
        num_recordings: recordings in the training split (at least 1).
        fraction: share to keep, in (0, 1].
    """
    if num_recordings < 1:
        raise ValueError(f"no recordings to choose from (num_recordings={num_recordings})")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"label_fraction must be in (0, 1], got {fraction}")
    return min(num_recordings, max(1, math.floor(fraction * num_recordings + 0.5)))


def label_subset(num_recordings: int, fraction: float, seed: int) -> list[int]:
    """The positions (sorted) of the recordings a ``fraction`` of the labels keeps.

    The recordings are put in an order drawn from ``seed`` and the first
    :func:`label_subset_size` are kept, so for one seed the subsets are nested (the 5%
    recordings are among the 10% ones, and so on up to all of them) and a curve over
    fractions adds labels rather than swapping them; another seed draws another order, so
    the spread over seeds includes the choice of the labelled recordings.

    Args:
        num_recordings: recordings in the training split.
        fraction: share to keep, in (0, 1]; 1 keeps all, in their order.
        seed: seed of the order.

    Returns:
        ``k`` sorted positions in ``range(num_recordings)``.
    """
    k = label_subset_size(num_recordings, fraction)
    if k == num_recordings:
        return list(range(num_recordings))
    order = np.random.default_rng(seed).permutation(num_recordings)
    return sorted(int(i) for i in order[:k])
