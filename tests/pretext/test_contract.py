"""The task contract: every encoder writes exactly the keys it declares, at their levels; every
head gives the outputs it declares, at theirs; the README's guide task works as written."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from evpose.data.graph_data import nbr_key
from evpose.data.loader import SkippingCollater
from evpose.data.windows import Window
from evpose.geometry import dhp19_cameras
from evpose.graph import EventGraphTransform
from evpose.pretext import (
    EDGES,
    NODE,
    WINDOW,
    CountTask,
    FutureTask,
    InpaintTask,
    OnsetTask,
    PretextTransform,
    RefillTask,
)
from tests.helpers import blob_window

README = Path(__file__).resolve().parents[2] / "README.md"
GRAPH = dict(r=5.0, max_num_neighbors=16, tore_k=1, max_nodes=800)


def sample(seed=0, n=3000):
    ev = blob_window(n, seed, duration_us=40_000)
    ev["t"] += 1_000_000
    w = Window("cam2", 0, n, int(ev["t"][0]), int(ev["t"][-1]) + 1)
    return {"events": ev, "window": w, "camera": dhp19_cameras()["cam2"], "index": seed}


def rows(level: str, data) -> int:
    if level == NODE:
        return data.num_nodes
    if level == WINDOW:
        return 1
    return data[level].shape[0]


@pytest.mark.parametrize("make", [InpaintTask, CountTask, RefillTask, FutureTask, OnsetTask])
def test_encoders_write_exactly_their_declared_keys_and_heads_their_outputs(make):
    task = make()
    graph = EventGraphTransform(**GRAPH)
    plain = graph(sample(1))
    tf = PretextTransform(graph, [task], seed=0)
    data = tf(sample(1))
    written = set(data.keys()) - set(plain.keys()) - {nbr_key(q) for q in tf.query_keys}
    assert written == {k.name for k in task.keys}
    for key in task.keys:
        value = key.of(data)
        if key.level == EDGES:
            assert value.shape[0] == 2 and int(value.max()) < data.num_nodes
        else:
            assert value.shape[0] == rows(key.level, data), key
    assert tf.query_keys == task.keys.queries
    # the head: its declared outputs, at their levels, on a batch of two windows
    batch = SkippingCollater(tf.query_keys)([tf(sample(s)) for s in (1, 2)])
    head = task.build_head(8)
    feats = SimpleNamespace(features=[torch.randn(batch.num_nodes, 8)], pos=batch.pos, batch=batch.batch,
                            num_graphs=batch.num_graphs)
    out = head(feats, batch)
    assert set(out) == set(head.outputs) == set(task.output_levels)
    for name, level in head.outputs.items():
        n = batch.num_graphs if level == WINDOW else batch.num_nodes if level == NODE else batch[level].shape[0]
        assert out[name].shape[0] == n, name
    assert torch.isfinite(head.loss(out, batch))
    metrics = head.metrics()
    head.update_metrics(metrics, out, batch)


def guide_module() -> types.ModuleType:
    """The README's ``evpose/pretext/polarity.py``, as a module (its relative imports made absolute)."""
    text = README.read_text()
    start = text.index("`evpose/pretext/polarity.py`:")
    code = re.search(r"```python\n(.*?)```", text[start:], re.S).group(1)
    code = code.replace("from ..", "from evpose.").replace("from .", "from evpose.pretext.")
    module = types.ModuleType("readme_polarity")
    sys.modules["readme_polarity"] = module  # (so its classes pickle, as the loader workers need)
    exec(compile(code, str(README), "exec"), module.__dict__)
    return module


def test_the_readme_guide_task_trains():
    polarity = guide_module()
    task = polarity.PolarityTask(mask_share=0.3)
    tf = PretextTransform(EventGraphTransform(**GRAPH), [InpaintTask(), task], seed=0)
    import pickle

    tf = pickle.loads(pickle.dumps(tf))  # as a loader worker gets it
    batch = SkippingCollater(tf.query_keys)([tf(sample(s)) for s in (1, 2)])
    hidden = polarity.KEYS.hidden.of(batch)
    block = tf.input_spec.block("polarity")
    assert 0.2 < hidden.float().mean() < 0.4 and torch.all(batch.x[hidden, block] == 0)
    head = task.build_head(8)
    feats = SimpleNamespace(features=[torch.randn(batch.num_nodes, 8, requires_grad=True)])
    out = head(feats, batch)
    loss = head.loss(out, batch)
    loss.backward()
    assert torch.isfinite(loss) and feats.features[0].grad.abs().sum() > 0
    metrics = head.metrics()
    head.update_metrics(metrics, out, batch)
    on = polarity.KEYS.target.of(batch)[hidden] > 0.5
    assert float(metrics["baseline_accuracy_on"].compute()) == pytest.approx(on.float().mean().item())
