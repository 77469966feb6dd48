"""Recovering boxes, cells and grids from a corrupted graph, and cutting a batch into windows."""

from __future__ import annotations


import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from evpose.graph import EventGraphTransform
from evpose.pretext import FutureTask, GraphFrame, InpaintTask, PretextTransform
from evpose.types import NUM_PARTS
from evpose.viz import box_cells, future_grid, unbatch_window
from evpose.viz.pretext_layout import average_precision, time_scale

from .conftest import fake_outputs, pretext_sample, pretext_transform


@pytest.mark.parametrize("time_scale_us", [1000.0, 400.0])
def test_box_cells_recover_the_boxes_of_the_corruption(time_scale_us):
    task = InpaintTask(share=(0.2, 0.3), box_px=(16, 8), box_us=8000, cell_px=4, cell_us=2000)
    s = pretext_sample(3)
    tf = PretextTransform(EventGraphTransform(r=4.0, max_num_neighbors=8, tore_k=0, time_scale_us=time_scale_us,
                                              max_nodes=500), {"inpaint": task}, num_parts=NUM_PARTS, seed=7)
    data = tf(s)
    assert time_scale(data) == pytest.approx(1.0 / time_scale_us, rel=1e-6)
    # the same corruption again: the transform's first draw from rng (seed, index)
    frame = GraphFrame(s["window"].t_start, 1.0 / time_scale_us, 260, 346, s["window"].t_end)
    _, targets = task.encoder.corrupt(s["events"], frame, s, np.random.default_rng([7, s["index"]]))
    cells = box_cells(data, task)
    np.testing.assert_array_equal(cells.boxes, targets["boxes"])
    assert cells.shape == (4, 2, 4) and cells.num_boxes == len(targets["boxes"])
    # exactly the removed events lie in the boxes
    inside = cells.contains(s["events"])
    assert inside.sum() == len(targets["removed"]) == int(data.box_num_removed)
    # per_box puts the count of cell (i, j, k) of box b where a brute-force count says
    counts = cells.per_box(data.box_count)
    ev = s["events"]
    for b, (x0, _, y0, _, t0, _) in enumerate(cells.boxes):
        for i in range(4):
            for j in range(2):
                for k in range(4):
                    m = ((ev["x"] >= x0 + 4 * i) & (ev["x"] < x0 + 4 * i + 4) & (ev["y"] >= y0 + 4 * j)
                         & (ev["y"] < y0 + 4 * j + 4) & (ev["t"] >= t0 + 2000 * k) & (ev["t"] < t0 + 2000 * k + 2000))
                    assert counts[b, i, j, k] == m.sum()


def test_box_cells_reject_a_mismatched_task(corrupted):
    _, data, _ = corrupted
    with pytest.raises(ValueError, match="not a whole number of boxes"):
        box_cells(data, InpaintTask(box_px=(12, 12), cell_px=4, box_us=12000, cell_us=4000))
    with pytest.raises(TypeError, match="expected an InpaintTask"):
        box_cells(data, FutureTask())


def test_future_grid_images_match_a_loop_over_the_future_events():
    s = pretext_sample(5)
    ev = s["events"]
    task = FutureTask(cell_px=8, margin_px=16)
    frame = GraphFrame(s["window"].t_start, 1e-3, 260, 346, s["window"].t_end)
    _, tg = task.encoder.corrupt(ev, frame, s, np.random.default_rng(0))
    grid = future_grid(torch.from_numpy(tg["query_pos"]))
    assert grid.cell_px == 8 and grid.nx * grid.ny == len(tg["occ"])
    assert grid.split == pytest.approx((tg["t_split"] - s["window"].t_start) * 1e-3)
    expected = np.zeros((grid.ny, grid.nx, 2))
    for e in ev[ev["t"] >= tg["t_split"]]:
        col, row = (int(e["x"]) - grid.x0) // 8, (int(e["y"]) - grid.y0) // 8
        if 0 <= col < grid.nx and 0 <= row < grid.ny and e["x"] >= grid.x0 and e["y"] >= grid.y0:
            expected[row, col, 0 if e["p"] > 0 else 1] = 1.0
    np.testing.assert_array_equal(grid.image(tg["occ"]), expected)
    left, right, bottom, top = grid.extent
    assert (right - left, bottom - top) == (grid.nx * 8, grid.ny * 8) and left == grid.x0 - 0.5


def test_unbatch_window_cuts_outputs_per_query_node_and_graph():
    tf = pretext_transform()
    datas = [tf(pretext_sample(i)) for i in (1, 2)]
    outs = [fake_outputs(d, seed=i) for i, d in enumerate(datas)]
    batch = Batch.from_data_list(datas, follow_batch=tf.query_keys)
    joined = {t: {k: torch.cat([o[t][k] for o in outs]) for k in outs[0][t]} for t in outs[0]}
    for i in (0, 1):
        data, cut = unbatch_window(batch, joined, i, levels=tf.output_levels)
        assert torch.equal(data.pos, datas[i].pos) and torch.equal(data.box_count, datas[i].box_count)
        for t in outs[i]:
            for k, v in outs[i][t].items():
                assert torch.equal(cut[t][k], v), (t, k)
    # a single window passes through; bad indices and missing query pointers are named
    assert unbatch_window(datas[0], outs[0]) == (datas[0], outs[0])
    with pytest.raises(IndexError, match="out of range for a batch of 2"):
        unbatch_window(batch, joined, 2)
    plain = Batch.from_data_list(datas)
    with pytest.raises(ValueError, match="box_query_pos_ptr"):
        unbatch_window(plain, joined, 0)
    with pytest.raises(ValueError, match="cannot tell"):
        unbatch_window(batch, {"mystery": {"y": torch.zeros(7)}}, 0)


def test_average_precision_against_hand_counts():
    truth = np.array([1, 0, 1, 1, 0, 0], bool)
    score = np.array([0.9, 0.8, 0.1, 0.7, 0.3, 0.2])
    # ranking: 0.9 (hit), 0.8 (miss), 0.7 (hit), 0.3, 0.2, 0.1 (hit): precisions 1, 2/3, 3/6
    assert average_precision(score, truth) == pytest.approx((1 + 2 / 3 + 3 / 6) / 3)
    assert np.isnan(average_precision(score, np.zeros(6, bool)))
