"""Segmentation metrics on hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch

from evpose.metrics import PartIoUMetric, accuracy, confusion_matrix, iou_per_class, mean_iou, markdown_table


def test_confusion_and_iou_hand_computed():
    target = torch.tensor([0, 0, 1, 1, 2, 2])
    pred = torch.tensor([0, 1, 1, 1, 2, 0])
    conf = confusion_matrix(pred, target, 4)
    assert conf.tolist() == [[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]
    iou = iou_per_class(conf)
    # class 0: tp 1, union 1+2+... = pred0 {0,5} U target0 {0,1} = 3 -> 1/3 ; class 1: 2/3 ; class 2: 1/2 ; class 3 absent
    assert iou[:3].tolist() == pytest.approx([1 / 3, 2 / 3, 1 / 2])
    assert math.isnan(iou[3].item())
    assert mean_iou(pred, target, 4).item() == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)
    assert accuracy(pred, target).item() == pytest.approx(4 / 6)


def test_ignore_index_and_bad_labels():
    target = torch.tensor([0, -100, 1])
    pred = torch.tensor([0, 5, 1])
    assert mean_iou(pred, target, 2, ignore_index=-100).item() == pytest.approx(1.0)
    assert accuracy(pred, target, ignore_index=-100).item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"pred label 5 outside \[0, 2\)"):
        confusion_matrix(pred, torch.tensor([0, 0, 1]), 2)


def test_running_iou_equals_pure():
    g = torch.Generator().manual_seed(0)
    ps = [torch.randint(0, 5, (50,), generator=g) for _ in range(3)]
    ts = [torch.randint(0, 5, (50,), generator=g) for _ in range(3)]
    m = PartIoUMetric(5)
    for p, t in zip(ps, ts):
        m.update(p, t)
    assert m.compute().item() == pytest.approx(mean_iou(torch.cat(ps), torch.cat(ts), 5).item())


def test_markdown_table():
    out = markdown_table(["a", "b"], {"x": [1.0, float("nan")], "y": [2.0, 4.0]})
    assert out.splitlines() == [
        "| joint | x | y |",
        "| --- | --- | --- |",
        "| a | 1.00 | 2.00 |",
        "| b | - | 4.00 |",
        "| **mean** | 1.00 | 3.00 |",
    ]
