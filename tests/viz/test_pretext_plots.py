"""Pretext figures: panels with and without predictions, numbers in titles recomputed here."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.quiver import Quiver
from torch_geometric.data import Batch

from evpose.types import NUM_PARTS
from evpose.viz import plot_counts, plot_future, plot_inpainting, plot_refill

from .conftest import fake_outputs, pretext_sample, pretext_transform


def panels(fig: Figure):
    """The figure's axes without colour bars."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def number_after(text: str, label: str) -> float:
    return float(re.search(re.escape(label) + r" ?(-?[0-9.]+|nan)", text).group(1))


def test_inpainting_truth_only_and_with_prediction(corrupted):
    s, data, tasks = corrupted
    fig = plot_inpainting(data, task=tasks["inpaint"], events=s["events"])
    assert isinstance(fig, Figure) and len(panels(fig)) == 2
    frame_title = panels(fig)[0].get_title()
    # the events drawn as removed are exactly the ones the corruption took out
    assert f"{int(data.box_num_removed)} removed" in frame_title
    assert f"{len(s['events']) - int(data.box_num_removed)} events shown" in frame_title
    n_boxes = data.box_query_pos.shape[0] // 32  # 4 x 4 x 2 cells per box
    assert len(panels(fig)[0].patches) == n_boxes
    out = fake_outputs(data)
    fig = plot_inpainting(data, out, task=tasks["inpaint"])  # the module's whole output is accepted
    axes = panels(fig)
    assert len(axes) == 4
    prob = torch.sigmoid(out["inpaint"]["occupancy_logit"].double()).numpy()
    occ = data.box_count.numpy() > 0
    f1 = 2 * (occ & (prob > 0.5)).sum() / (occ.sum() + (prob > 0.5).sum())
    assert number_after(axes[3].get_title(), "F1@0.5") == pytest.approx(f1, abs=0.005)
    assert number_after(axes[3].get_title(), "(prior:") == pytest.approx(occ.mean(), abs=0.005)
    # the truth mosaic holds each cell's share of occupied time slices
    mosaic = axes[1].images[0].get_array()
    per_box = occ.reshape(n_boxes, 4, 4, 2).mean(3)
    np.testing.assert_allclose(mosaic[:4, :4], per_box[0].T)
    with pytest.raises(ValueError, match="needs the task"):
        plot_inpainting(data)


def test_counts(corrupted):
    _, data, tasks = corrupted
    # the boxes are inpainting's (first of the two box tasks), whose cells differ from the
    # count task's own settings here: the tasks (or the transform) find the right grid
    with pytest.raises(ValueError, match="pass the PretextTransform"):
        plot_counts(data, task=tasks["count"])
    assert len(panels(plot_counts(data, task=tasks))) == 2
    out = fake_outputs(data)["count"]
    axes = panels(plot_counts(data, out, task=pretext_transform(tasks)))
    assert len(axes) == 3
    pred = np.exp(out["log_rate"].double().numpy())
    truth = data.box_count.double().numpy()
    assert number_after(axes[2].get_title(), "MAE") == pytest.approx(np.abs(pred - truth).mean(), abs=0.005)
    assert number_after(axes[2].get_title(), "(mean baseline") == pytest.approx(np.abs(truth - truth.mean()).mean(), abs=0.005)
    np.testing.assert_allclose(axes[2].collections[0].get_offsets(), np.stack([truth, pred], 1), rtol=1e-6)


def test_refill_accuracy_and_nearest_baseline(corrupted):
    _, data, tasks = corrupted
    assert len(panels(plot_refill(data, task=tasks))) == 2
    out = fake_outputs(data)
    axes = panels(plot_refill(data, out, task=tasks["refill"]))
    assert len(axes) == 4
    cls = torch.where(data.part < 0, NUM_PARTS, data.part).numpy()
    hidden = ~data.refill_shown.numpy()
    pred = out["refill"]["part_logits"].argmax(1).numpy()
    assert number_after(axes[3].get_title(), "accuracy") == pytest.approx((pred[hidden] == cls[hidden]).mean(), abs=0.005)
    # nearest shown label by brute force
    pos = data.pos.numpy()
    near = [cls[~hidden][np.argmin(((pos[~hidden] - p) ** 2).sum(1))] for p in pos[hidden]]
    assert number_after(axes[3].get_title(), "(nearest shown label") == pytest.approx(np.mean(near == cls[hidden]), abs=0.005)
    assert len(axes[1].collections[0].get_offsets()) == hidden.sum()  # hidden nodes drawn black first
    with pytest.raises(ValueError, match="needs the task"):  # (its keys)
        plot_refill(data)


def test_future_panels_and_motion_arrows(corrupted):
    _, data, tasks = corrupted
    fig = plot_future(data, task=tasks["future"])
    assert [len(panels(fig))] == [4]
    out = fake_outputs(data)["future"]
    axes = panels(plot_future(data, out, task=tasks["future"]))
    assert len(axes) == 5
    valid = data.future_motion_valid.reshape(-1).numpy()
    assert valid.any()
    quivers = [c for c in axes[4].collections if isinstance(c, Quiver)]
    assert len(quivers) == 2 and all(q.N == valid.sum() for q in quivers)
    # arrows are the motions times the printed scale
    scale = number_after(axes[4].get_title(), "arrows x")
    np.testing.assert_allclose(quivers[0].U, scale * data.future_motion.reshape(-1, 2)[valid, 0].numpy(), rtol=1e-5)
    prob = torch.sigmoid(out["occupancy_logit"].double()).numpy()
    occ = data.future_occ.numpy() > 0.5
    f1 = 2 * (occ & (prob > 0.5)).sum() / (occ.sum() + (prob > 0.5).sum())
    assert number_after(axes[3].get_title(), "F1@0.5") == pytest.approx(f1, abs=0.005)
    epe = np.linalg.norm(out["motion"].reshape(-1, 2).numpy()[valid] - data.future_motion.reshape(-1, 2).numpy()[valid], axis=1)
    assert number_after(axes[4].get_title(), "EPE") == pytest.approx(epe.mean(), abs=0.005)


def test_figures_take_a_batch_and_an_index(corrupted):
    _, _, tasks = corrupted
    tf = pretext_transform(tasks)
    datas = [tf(pretext_sample(i)) for i in (1, 2)]
    batch = Batch.from_data_list(datas, follow_batch=tf.query_keys)
    outs = fake_outputs(batch)
    single = {t: {k: v for k, v in o.items()} for t, o in outs.items()}
    fig_b = plot_refill(batch, outs, task=tf, index=1)
    n0 = datas[0].num_nodes
    fig_s = plot_refill(datas[1], {"refill": {"part_logits": single["refill"]["part_logits"][n0:]}}, task=tf)
    assert panels(fig_b)[3].get_title() == panels(fig_s)[3].get_title()
    for fn, kw in ((plot_inpainting, {"task": tasks["inpaint"]}), (plot_counts, {"task": tf}),
                   (plot_future, {"task": tasks["future"]})):
        assert isinstance(fn(batch, outs, index=1, **kw), Figure)
