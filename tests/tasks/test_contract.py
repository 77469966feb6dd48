"""The task contract: every encoder writes exactly the keys it declares, at their levels (the
pose tasks': the labels the graph transform writes from the window); every head gives the
outputs it declares, at theirs; the heads run in the tasks' order, each given the outputs of
the tasks it declares it needs; the README's guide task works as written."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from evpose.data import PoseGraphTransform
from evpose.data.graph_data import nbr_key
from evpose.data.labels import project_pose
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
from evpose.tasks import STAGES, Joints2DTask, Joints3DTask, PartsTask, TaskNet, check_task_order
from tests.helpers import blob_window, standing_pose

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
        return getattr(data, "num_graphs", 1)
    return data[level].shape[0]


def labelled_sample(seed=0, n=3000):
    """A window with its pose label (as the datasets give it)."""
    s = sample(seed, n)
    label = project_pose(standing_pose() + [0, 0, 0], np.ones(13, bool), s["camera"])
    return {**s, **{k: getattr(label, k) for k in ("joints3d", "valid3d", "joints2d", "visible", "depth")}}


def check_outputs(head, out, batch, levels):
    """``out`` holds exactly the declared outputs, each at its level (per stage for STAGES)."""
    assert set(out) == set(head.outputs) == set(levels)
    for name, level in head.outputs.items():
        if level == STAGES:
            assert isinstance(out[name], list) and out[name], name
            for stage in out[name]:
                check_outputs_of_stage(head, stage, batch)
            for k, v in out[name][-1].items():
                assert out[k] is v, f"{name}: the last stage's {k} is the head's"
        else:
            n = batch.num_graphs if level == WINDOW else batch.num_nodes if level == NODE else batch[level].shape[0]
            assert out[name].shape[0] == n, name


def check_outputs_of_stage(head, stage, batch):
    assert set(stage) == {k for k, level in head.outputs.items() if level != STAGES}
    for name, value in stage.items():
        level = head.outputs[name]
        assert value.shape[0] == (batch.num_graphs if level == WINDOW else batch.num_nodes), name


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
    check_outputs(head, out, batch, task.output_levels)
    assert torch.isfinite(head.loss(out, batch))
    metrics = head.metrics()
    head.update_metrics(metrics, out, batch)


POSE_TASKS = {"joints2d": Joints2DTask, "joints3d": Joints3DTask, "parts": PartsTask}


@pytest.mark.parametrize("name", list(POSE_TASKS))
def test_pose_encoders_declare_the_labels_and_heads_their_outputs(name):
    """A pose encoder's keys are the window labels on the graph (exactly those the transform
    adds to an unlabelled window's, among them), at their levels; its targets are made from
    them; its head gives its declared outputs at every stage, its loss terms are the ones
    its task weighs, and it fills its metrics."""
    from functools import partial

    from evpose.models import GraphHourglass, PointConvLayer, RefinementStack

    task = POSE_TASKS[name]()
    tf = PoseGraphTransform(EventGraphTransform(**GRAPH), 10)
    plain, data = tf(sample(1)), tf(labelled_sample(1))
    labels = set(data.keys()) - set(plain.keys())  # what the window's pose label adds
    assert labels == {"joints2d", "visible", "joints3d", "valid3d", "depth"}
    declared = {k.name for k in task.keys}
    # the encoders of the three tasks together read exactly the labels and the events' part labels
    assert set().union(*({k.name for k in t().keys} for t in POSE_TASKS.values())) == labels | {"part"}
    assert declared <= labels | {"part"} and "part" in data.keys()
    for key in task.keys:
        assert key.of(data).shape[0] == rows(key.level, data), key
    import pickle

    assert pickle.loads(pickle.dumps(task.encoder)).keys.queries == []  # picklable, no query sets
    # the head on a two-stage backbone, after the tasks it needs
    batch = SkippingCollater([])([tf(labelled_sample(s)) for s in (1, 2)])
    torch.manual_seed(0)
    hg = partial(GraphHourglass, channels=[8, 8, 8], conv=PointConvLayer)
    backbone = RefinementStack(tf.input_spec.channels, hg, num_stages=2, radii=(5.0, 10.0, 20.0),
                               voxel_sizes=(5.0, 10.0), num_maps=13, camera_input=False)
    tasks = {n: POSE_TASKS[n]() for n in (*task.needs, name)}
    net = TaskNet(backbone, tasks).train()
    outs = net(batch)
    head = net.heads[name]
    check_outputs(head, outs[name], batch, task.output_levels)
    assert len(outs[name]["stages"]) == 2
    losses = head.losses(outs[name], batch)
    assert set(losses) == set(task.loss_weights)
    for term in losses.values():
        assert len(term) == 2 and all(torch.isfinite(t) for t in term)
    metrics = head.metrics()
    head.update_metrics(metrics, outs[name], batch)
    assert all(m.update_count > 0 for k, m in metrics.items() if not k.startswith("baseline_"))


def test_a_head_reads_only_the_tasks_it_declares_and_they_come_first():
    assert Joints3DTask.needs == ("joints2d",) and Joints2DTask.needs == PartsTask.needs == ()
    check_task_order({"joints2d": Joints2DTask(), "joints3d": Joints3DTask(), "inpaint": InpaintTask()})
    with pytest.raises(ValueError, match="task 'joints3d' reads the outputs of task 'joints2d', which comes after it"):
        check_task_order({"joints3d": Joints3DTask(), "joints2d": Joints2DTask()})
    with pytest.raises(ValueError, match="task 'joints3d' reads the outputs of task 'joints2d', which is not in the task list"):
        check_task_order({"joints3d": Joints3DTask(), "parts": PartsTask()})


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
