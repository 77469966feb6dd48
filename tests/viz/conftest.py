"""Tiny inputs for the plot tests: hand-made events, a pretext-corrupted window, fake head outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evpose.data.windows import Window
from evpose.geometry import dhp19_cameras
from evpose.graph import EventGraphTransform
from evpose.pretext import CountTask, FutureTask, InpaintTask, PretextTransform, RefillTask
from evpose.types import NUM_PARTS
from tests.helpers import blob_window

CAM = dhp19_cameras()["cam2"]


def pretext_sample(seed=0, n=2500, t_offset=2_000_000):
    """A window of a moving blob (random part labels) as the dataset gives it."""
    ev = blob_window(n, seed, duration_us=40_000)
    ev["t"] += t_offset
    w = Window("cam2", 0, n, int(ev["t"][0]), int(ev["t"][-1]) + 1)
    return {"events": ev, "window": w, "camera": CAM, "index": seed}


def pretext_tasks():
    return {
        "inpaint": InpaintTask(share=(0.15, 0.25), box_px=(16, 16), box_us=8000, cell_px=4, cell_us=4000),
        "count": CountTask(cell_us=2000),
        "refill": RefillTask(mask_share=0.5),
        "future": FutureTask(past_share=0.75, cell_px=8, min_part_events=5),
    }


def pretext_transform(tasks=None, seed=0):
    graph = EventGraphTransform(r=4.0, max_num_neighbors=8, tore_k=1, max_nodes=None)
    return PretextTransform(graph, tasks or pretext_tasks(), num_parts=NUM_PARTS, seed=seed)


def fake_outputs(data, seed=0) -> dict:
    """Head outputs of the right shapes for one window (or a batch), deterministic."""
    g = torch.Generator().manual_seed(seed)
    q_box, q_fut = data.box_query_pos.shape[0], data.future_query_pos.shape[0]
    B = int(getattr(data, "num_graphs", 1))
    return {
        "inpaint": {"occupancy_logit": torch.randn(q_box, generator=g), "polarity_logit": torch.randn(q_box, generator=g)},
        "count": {"log_rate": torch.randn(q_box, generator=g)},
        "refill": {"part_logits": torch.randn(data.num_nodes, NUM_PARTS + 1, generator=g)},
        "future": {"occupancy_logit": torch.randn(q_fut, 2, generator=g), "motion": torch.randn(B, NUM_PARTS, 2, generator=g)},
    }


@pytest.fixture(scope="module")
def corrupted():
    """``(sample, data, tasks)``: one window through the pretext transform."""
    tasks = pretext_tasks()
    s = pretext_sample(0)
    data = pretext_transform(tasks)(s)
    assert data is not None
    return s, data, tasks
