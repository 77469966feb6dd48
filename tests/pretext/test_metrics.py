"""The pretext metrics against plain numpy, including the constant-mean baseline kept as targets."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from evpose.pretext.metrics import ConstantMeanMAE, MeanAbsError


def test_constant_mean_mae_is_the_mean_deviation_from_the_mean_of_all_batches():
    rng = np.random.default_rng(0)
    batches = [rng.integers(0, 40, size=n).astype(np.float32) for n in (7, 1, 30)]
    m = ConstantMeanMAE()
    m.to("cpu")  # moving a metric resets its dtype: the kept targets follow it
    for b in batches:
        m.update(torch.from_numpy(b))
    assert all(v.dtype == m.dtype for v in m.values)
    v = np.concatenate(batches).astype(np.float64)
    assert float(m.compute()) == pytest.approx(np.abs(v - v.mean()).mean(), rel=1e-12)  # float64 sums
    with pytest.warns(UserWarning, match="before the ``update`` method"):  # torchmetrics says so
        assert math.isnan(float(ConstantMeanMAE().compute()))


def test_mean_abs_error_weighted():
    pred, target, w = torch.tensor([1.0, 2.0, 5.0]), torch.tensor([0.0, 4.0, 5.0]), torch.tensor([1.0, 0.5, 2.0])
    m = MeanAbsError()
    m.update(pred, target, w)
    assert float(m.compute()) == (1 * 1 + 2 * 0.5 + 0) / 3.5
