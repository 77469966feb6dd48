"""Binary F1 (torchmetrics, NaN where undefined) on hand-counted cases: the plots' function
and the pretext tasks' accumulating metric give the same numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evpose.metrics import BinaryF1, binary_f1


def test_f1_against_hand_counts():
    truth = np.array([1, 0, 1, 1, 0, 0], bool)
    pred = np.array([1, 1, 0, 1, 0, 0], bool)
    assert binary_f1(pred, truth) == pytest.approx(2 * 2 / (3 + 3))
    assert np.isnan(binary_f1(np.zeros(3, bool), np.zeros(3, bool)))
    assert binary_f1(np.ones(3, bool), np.zeros(3, bool)) == 0.0


def test_accumulated_f1_is_that_of_all_batches_together():
    rng = np.random.default_rng(0)
    pred, truth = rng.random((3, 50)) < 0.4, rng.random((3, 50)) < 0.3
    metric = BinaryF1()
    for p, t in zip(pred, truth):
        metric.update(torch.from_numpy(p).reshape(5, 10), torch.from_numpy(t).reshape(5, 10))
    tp, fp, fn = (pred & truth).sum(), (pred & ~truth).sum(), (~pred & truth).sum()
    assert float(metric.compute()) == pytest.approx(2 * tp / (2 * tp + fp + fn), rel=1e-6)
    assert float(metric.compute()) == pytest.approx(binary_f1(pred, truth), rel=1e-6)
    empty = BinaryF1()
    empty.update(torch.zeros(4, dtype=torch.bool), torch.zeros(4, dtype=torch.bool))
    assert torch.isnan(empty.compute())
