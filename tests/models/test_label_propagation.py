"""LabelPropagationHead: untrained, it copies the nearest shown graph neighbour's label."""

from __future__ import annotations

import numpy as np
import torch

from evpose.graph import radius_graph
from evpose.models.heads import LabelPropagationHead


def test_untrained_head_copies_the_nearest_shown_neighbour():
    g = torch.Generator().manual_seed(0)
    n, classes = 400, 5
    pos = torch.rand(n, 3, generator=g) * 20
    cls = torch.randint(0, classes, (n,), generator=g)
    shown = torch.rand(n, generator=g) < 0.5
    labels = torch.nn.functional.one_hot(cls, classes).float() * shown.unsqueeze(1)
    edge_index = radius_graph(pos, r=4.0, max_num_neighbors=64)
    head = LabelPropagationHead(8, classes, hidden=16)
    with torch.no_grad():
        logits = head(torch.randn(n, 8, generator=g), labels, shown, pos, edge_index)
    pred = logits.argmax(1).numpy()
    # brute force: the nearest shown node among each node's graph neighbours
    P, S, src, dst = pos.numpy(), shown.numpy(), *edge_index.numpy()
    checked = 0
    for i in range(n):
        nb = [j for j in src[dst == i] if S[j] and j != i]
        if not nb:
            assert np.allclose(logits[i].numpy(), logits[i, 0].item())  # no prior, zero correction: uniform
            continue
        d = np.linalg.norm(P[nb] - P[i], axis=1)
        order = np.argsort(d)
        if len(order) > 1 and d[order[1]] - d[order[0]] < 0.3:
            continue  # a near tie: the soft attention may mix them (tau 0.1: e^-3)
        assert pred[i] == cls[nb[order[0]]], i
        checked += 1
    assert checked > 200


def test_gradients_reach_the_temperature_the_metric_and_the_features():
    pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 2, 0], [3, 3, 0]])
    shown = torch.tensor([False, True, True, True])
    labels = torch.eye(3)[[0, 1, 2, 2]] * shown.unsqueeze(1)
    edge_index = torch.tensor([[1, 2, 3, 0], [0, 0, 0, 1]])
    h = torch.randn(4, 6, requires_grad=True)
    head = LabelPropagationHead(6, 3, hidden=8, tau=1.0)
    prop, has = head.propagate(labels, shown, pos, edge_index)
    w = torch.softmax(-torch.tensor([1.0, 2.0, 18**0.5]), 0)  # hand-computed attention of node 0
    assert torch.allclose(prop[0], torch.tensor([0.0, w[0], w[1] + w[2]]), atol=1e-6)
    assert has.tolist() == [True, False, False, False]  # node 1's only neighbour (0) is hidden
    loss = torch.nn.functional.cross_entropy(head(h, labels, shown, pos, edge_index)[:1], torch.tensor([2]))
    loss.backward()
    assert head.log_tau.grad.abs() > 0 and head.log_axis_scale.grad[:2].abs().min() > 0
    assert head.correct[-1].weight.grad.abs().sum() > 0
