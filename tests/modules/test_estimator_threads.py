"""PoseEstimator runs small graphs on one torch thread and gives the thread count back."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evpose.estimator import load_estimator
from evpose.io import EventRecording


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _windows(tiny_dataset, n, count):
    with EventRecording(next((tiny_dataset / "test").glob("*.h5"))) as r:
        cam = r.camera("cam2")
        ev = r.events_slice("cam2", 0, r.num_events("cam2"))
    return [(ev[i * n : (i + 1) * n], cam) for i in range(count)]


@pytest.mark.parametrize("threshold, batch_size, expected", [(4096, 1, 1), (0, 1, 2), (10, 2, 2)])
def test_the_network_runs_on_one_thread_below_the_threshold(finetuned_ckpt, tiny_dataset, two_threads,
                                                             threshold, batch_size, expected):
    est = load_estimator(finetuned_ckpt, one_thread_below_nodes=threshold)
    seen = []
    hook = est.net.register_forward_pre_hook(lambda *_: seen.append(torch.get_num_threads()))
    wins = _windows(tiny_dataset, est.window["num_events"], 2)
    est.predict_many(wins, batch_size=batch_size)
    hook.remove()
    assert seen and set(seen) == {expected}
    assert torch.get_num_threads() == 2  # given back


def test_thread_count_does_not_change_predictions(finetuned_ckpt, tiny_dataset, two_threads):
    wins = _windows(tiny_dataset, 7500, 2)
    one = load_estimator(finetuned_ckpt).predict_many(wins)
    two = load_estimator(finetuned_ckpt, one_thread_below_nodes=0).predict_many(wins)
    for a, b in zip(one, two):
        np.testing.assert_allclose(a.joints2d, b.joints2d, rtol=0, atol=1e-4)
        np.testing.assert_array_equal(a.node_index, b.node_index)


def test_a_negative_threshold_is_refused(finetuned_ckpt):
    with pytest.raises(ValueError, match="one_thread_below_nodes"):
        load_estimator(finetuned_ckpt, one_thread_below_nodes=-1)
