"""The device (pure torch) code paths, run on CPU, give exactly what the CPU (numpy) paths give.

On CPU evpose routes sorts, cumulative sums and a few integer kernels through numpy;
on CUDA every step is torch. Switching ``NUMPY_ON_CPU`` off runs the CUDA code here.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import evpose.representations.events as event_columns
from evpose.graph import knn, knn_graph, radius_graph, voxel_cluster
from evpose.representations import ToreBuilder, tore_at_events, tore_volume
from evpose.types import make_events


def both_paths(monkeypatch, fn):
    numpy_result = fn()
    monkeypatch.setattr(event_columns, "NUMPY_ON_CPU", False)
    torch_result = fn()
    monkeypatch.setattr(event_columns, "NUMPY_ON_CPU", True)
    return numpy_result, torch_result


@pytest.fixture
def cloud():
    rng = np.random.default_rng(0)
    pos = torch.from_numpy(rng.integers(0, 12, (1500, 3)).astype(np.float32))  # ties galore
    batch = torch.from_numpy(rng.integers(0, 3, 1500))
    return pos, batch


def test_radius_graph(monkeypatch, cloud):
    pos, batch = cloud
    a, b = both_paths(monkeypatch, lambda: radius_graph(pos, 2.0, batch, max_num_neighbors=7))
    assert torch.equal(a, b) and a.shape[1] > 1000


def test_knn(monkeypatch, cloud):
    pos, batch = cloud
    a, b = both_paths(monkeypatch, lambda: knn_graph(pos, 5, batch))
    assert torch.equal(a, b)
    y = pos[:100] + 0.25
    a, b = both_paths(monkeypatch, lambda: knn(pos.double(), y.double(), 4, batch, batch[:100]))
    assert torch.equal(a, b)


def test_voxel_cluster(monkeypatch, cloud):
    pos, batch = cloud
    a, b = both_paths(monkeypatch, lambda: voxel_cluster(pos, [2.0, 3.0, 1.5], batch))
    assert torch.equal(a, b)


def test_tore_forms(monkeypatch):
    rng = np.random.default_rng(1)
    n = 3000
    ev = make_events(np.sort(rng.integers(0, 50_000, n)), rng.integers(0, 9, n), rng.integers(0, 7, n),
                     rng.integers(0, 2, n))
    times = [0, 10_000.5, 30_000, 60_000]
    a, b = both_paths(monkeypatch, lambda: tore_volume(ev, times, (7, 9)))
    assert torch.allclose(a, b, atol=1e-6)
    a, b = both_paths(monkeypatch, lambda: tore_at_events(ev[1000:], (7, 9), history=ev[:1000]))
    assert torch.equal(a, b)

    def stream():
        builder = ToreBuilder((7, 9))
        out = []
        for chunk, ts in zip(np.array_split(ev, 4), [12_000, 25_000, 38_000, 51_000]):
            builder.update(chunk)
            out.append(builder.sample(ts))
        return torch.stack(out)

    a, b = both_paths(monkeypatch, stream)
    assert torch.equal(a, b)
