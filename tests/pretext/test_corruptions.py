"""Each corruption hides exactly what it claims, and its targets equal a brute-force recount."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evpose.data.loader import SkippingCollater
from evpose.data.windows import Window
from evpose.geometry import dhp19_cameras
from evpose.graph import EventGraphTransform
from evpose.models.losses import IGNORE_LABEL
from evpose.pretext import CountTask, FutureTask, GraphFrame, InpaintTask, OnsetTask, PretextTransform, RefillTask
from evpose.types import NUM_PARTS
from tests.helpers import blob_window

CAM = dhp19_cameras()["cam2"]


def sample(seed=0, n=3000, t_offset=1_000_000):
    ev = blob_window(n, seed, duration_us=40_000)
    ev["t"] += t_offset
    w = Window("cam2", 0, n, int(ev["t"][0]), int(ev["t"][-1]) + 1)
    return {"events": ev, "window": w, "camera": CAM, "index": seed}


def frame_of(s, beta=1e-3):
    return GraphFrame(s["window"].t_start, beta, 260, 346, s["window"].t_end)


def in_box(ev, b):
    return (ev["x"] >= b[0]) & (ev["x"] < b[1]) & (ev["y"] >= b[2]) & (ev["y"] < b[3]) & (ev["t"] >= b[4]) & (ev["t"] < b[5])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_box_masking_hides_boxes_and_counts_match_brute_force(seed):
    s = sample(seed)
    task = InpaintTask(share=(0.2, 0.3), box_px=(16, 8), box_us=8000, cell_px=4, cell_us=2000)
    kept, tg = task.encoder.corrupt(s["events"], frame_of(s), s, np.random.default_rng(seed))
    ev = s["events"]
    removed = tg["removed"]
    # nothing is lost or duplicated: kept + removed is the window
    assert len(kept) + len(removed) == len(ev)
    np.testing.assert_array_equal(np.sort(np.concatenate([kept["t"], removed["t"]])), np.sort(ev["t"]))
    # no kept event inside any box (no target leaks into the input); every removed one is inside one
    for b in tg["boxes"]:
        assert not in_box(kept, b).any()
    assert np.all(np.any([in_box(removed, b) for b in tg["boxes"]], axis=0))
    share = len(removed) / len(ev)
    assert 0.2 <= share <= 0.3 + 0.1  # the last box may overshoot a little
    # counts per cell by brute force: loop over boxes and cells
    q = 0
    for b in tg["boxes"]:
        for i in range(4):
            for j in range(2):
                for k in range(4):
                    cell = (b[0] + 4 * i, b[0] + 4 * i + 4, b[2] + 4 * j, b[2] + 4 * j + 4, b[4] + 2000 * k, b[4] + 2000 * k + 2000)
                    m = in_box(ev, cell)
                    assert tg["count"][q] == m.sum()
                    assert tg["on"][q] == (ev["p"][m] > 0).sum()
                    # the query sits at the cell centre, in graph coordinates
                    np.testing.assert_allclose(
                        tg["query_pos"][q], [cell[0] + 1.5, cell[2] + 1.5, (cell[4] + 1000 - s["window"].t_start) * 1e-3], rtol=1e-6
                    )
                    q += 1
    assert q == len(tg["count"])


def test_box_masking_skips_tiny_windows():
    s = sample(0, n=50)
    assert InpaintTask(min_events=200, cell_us=2000).encoder.corrupt(s["events"], frame_of(s), s, np.random.default_rng(0)) is None


def test_future_split_hides_the_future_and_targets_match_brute_force():
    s = sample(3)
    ev = s["events"]
    task = FutureTask(past_share=0.75, cell_px=8, min_part_events=5)
    kept, tg = task.encoder.corrupt(ev, frame_of(s), s, np.random.default_rng(0))
    t_split = tg["t_split"]
    assert kept["t"].max() < t_split and len(kept) == (ev["t"] < t_split).sum()
    future = ev[ev["t"] >= t_split]
    dt = ev["t"][-1] + 1 - t_split
    present = ev[(ev["t"] < t_split) & (ev["t"] >= t_split - dt)]
    # occupancy per cell and polarity by brute force
    for q, (qx, qy, _) in enumerate(tg["query_pos"]):
        x0, y0 = int(qx - 3.5), int(qy - 3.5)
        for pol, col in ((1, 0), (0, 1)):
            for src, key in ((future, "occ"), (present, "present_occ")):
                m = (src["x"] >= x0) & (src["x"] < x0 + 8) & (src["y"] >= y0) & (src["y"] < y0 + 8) & (src["p"] == pol)
                assert tg[key][q, col] == float(m.any())
    # motion vectors: mean position of each part's future events minus present events
    for p in range(NUM_PARTS):
        f, pr = future[future["part"] == p], present[present["part"] == p]
        valid = len(f) >= 5 and len(pr) >= 5
        assert tg["motion_valid"][p] == valid
        if valid:
            want = [f["x"].mean() - pr["x"].mean(), f["y"].mean() - pr["y"].mean()]
            np.testing.assert_allclose(tg["motion"][p], want, rtol=1e-5, atol=1e-4)


def test_onset_blanks_rectangle_after_slice_and_first_times_match():
    s = sample(4)
    ev = s["events"]
    task = OnsetTask(rect_px=(24, 24), cell_px=4, slice_share=0.1)
    kept, tg = task.encoder.corrupt(ev, frame_of(s), s, np.random.default_rng(5))
    t_first, t_end = ev["t"][0], ev["t"][-1] + 1
    t_slice = t_first + round(0.1 * (t_end - t_first))
    qx = tg["query_pos"][:, 0]
    x0, y0 = int(round(qx.min() - 1.5)), int(round(tg["query_pos"][:, 1].min() - 1.5))
    rect = (kept["x"] >= x0) & (kept["x"] < x0 + 24) & (kept["y"] >= y0) & (kept["y"] < y0 + 24)
    assert not (rect & (kept["t"] >= t_slice)).any()  # blanked after the slice ...
    full = (ev["x"] >= x0) & (ev["x"] < x0 + 24) & (ev["y"] >= y0) & (ev["y"] < y0 + 24)
    assert (rect & (kept["t"] < t_slice)).sum() == (full & (ev["t"] < t_slice)).sum()  # ... kept before it
    for q, (cx, cy, _) in enumerate(tg["query_pos"]):
        cx0, cy0 = int(cx - 1.5), int(cy - 1.5)
        m = (ev["x"] >= cx0) & (ev["x"] < cx0 + 4) & (ev["y"] >= cy0) & (ev["y"] < cy0 + 4) & (ev["t"] >= t_slice)
        assert tg["valid"][q] == m.any()
        if m.any():
            assert tg["onset"][q] == pytest.approx((ev["t"][m].min() - t_slice) / (t_end - t_slice), abs=1e-6)


def test_refill_masks_inputs_and_targets_only_masked_nodes():
    graph = EventGraphTransform(r=5.0, max_num_neighbors=16, tore_k=1, max_nodes=None)
    tf = PretextTransform(graph, [RefillTask(mask_share=0.4, mask="nodes")], seed=0)
    d = tf(sample(5))
    P = NUM_PARTS
    part_in = d.x[:, -(P + 2):]
    shown = d.refill_shown
    # masked nodes: only the mask flag; shown nodes: exactly their own label's one-hot
    assert torch.all(part_in[~shown, : P + 1] == 0) and torch.all(part_in[~shown, P + 1] == 1)
    cls = torch.where(d.part < 0, P, d.part)
    assert torch.all(part_in[shown].argmax(1) == cls[shown]) and torch.all(part_in[shown].sum(1) == 1)
    assert torch.all(d.refill_target[shown] == IGNORE_LABEL) and torch.all(d.refill_target[~shown] == cls[~shown])
    assert 0.3 < (~shown).float().mean() < 0.5
    assert torch.equal(part_in, d.x[:, tf.input_spec.block("part_labels").start :])  # the spec's blocks: the last P + 2


def test_refill_head_sees_the_labels_the_part_input_shows():
    """The propagation head starts from the shown labels: exactly the part-label block of x."""
    from types import SimpleNamespace

    graph = EventGraphTransform(r=5.0, max_num_neighbors=16, tore_k=2, max_nodes=800)
    task = RefillTask(mask_share=0.5)
    tf = PretextTransform(graph, [task], seed=0)
    batch = SkippingCollater(tf.query_keys)([tf(sample(s)) for s in (1, 2)])
    seen = {}

    class Net(torch.nn.Module):  # in the network's place: what the head hands it
        def forward(self, h, labels, shown, pos, edge_index):
            seen["labels"] = labels
            return h

    head = task.build_head(4)
    head.net = Net()
    feats = SimpleNamespace(features=[torch.zeros(batch.num_nodes, 4)])
    head(feats, batch)
    torch.testing.assert_close(seen["labels"], batch.x[:, tf.input_spec.block("part_labels")], rtol=0, atol=0)


def test_transform_composes_tasks_shares_boxes_and_batches_neighbours():
    graph = EventGraphTransform(r=5.0, max_num_neighbors=16, tore_k=2, max_nodes=1000)
    tasks = [InpaintTask(box_us=8000, cell_us=4000), CountTask(share=(0.5, 0.6), cell_us=2000), RefillTask(), FutureTask()]
    tf = PretextTransform(graph, tasks, seed=7)
    s = sample(6)
    d = tf(s)
    # shared boxes: inpainting's parameters (share 0.1-0.3), applied once, on the past only
    assert d.box_num_removed.item() / len(s["events"]) < 0.45
    t_split = s["window"].t_start + 0.75 * (s["events"]["t"][-1] + 1 - s["window"].t_start)
    assert d.t.max() < t_split + 1
    # the same sample index gives the same corruption (validation), another index another one
    d2 = tf(s)
    torch.testing.assert_close(d.box_query_pos, d2.box_query_pos)
    d3 = tf(dict(s, index=99))
    assert d3.box_query_pos.shape != d.box_query_pos.shape or not torch.equal(d3.box_query_pos, d.box_query_pos)
    # the neighbours found in the transform are the k nearest nodes, also after batching
    b = SkippingCollater(tf.query_keys)([tf(sample(i)) for i in range(3)])
    nbr, q, qb = b.box_query_nbr, b.box_query_pos, b.box_query_pos_batch
    assert torch.all(b.batch[nbr[1]] == qb[nbr[0]])  # never across windows
    for i in torch.randint(0, q.shape[0], (20,)).tolist():
        nodes = torch.nonzero(b.batch == qb[i]).squeeze(1)
        d_all = (b.pos[nodes] - q[i]).norm(dim=1)
        got = nbr[1][nbr[0] == i]
        kth = d_all.sort().values[len(got) - 1]
        assert len(got) == 8 and torch.all((b.pos[got] - q[i]).norm(dim=1) <= kth + 1e-5)


def test_skipped_windows_are_counted():
    graph = EventGraphTransform(r=5.0, tore_k=1, max_num_neighbors=32, max_nodes=None)
    tf = PretextTransform(graph, [InpaintTask(min_events=500, cell_us=2000)], seed=0)
    batch = SkippingCollater(tf.query_keys)([tf(sample(0)), tf(sample(1, n=100)), tf(sample(2))])
    assert batch.num_graphs == 2 and int(batch.num_skipped) == 1
    assert SkippingCollater()([None, None]) is None


def region_mask_loop(xy, share, region_px, rng):
    """Plain-loop reference of refill's region masking: one square at a time, in draw order."""
    n, hidden = len(xy), np.zeros(len(xy), dtype=bool)
    for c in rng.permutation(n):
        if hidden.sum() >= np.ceil(share * n):
            break
        for i in range(n):
            if abs(xy[i, 0] - xy[c, 0]) <= region_px / 2 and abs(xy[i, 1] - xy[c, 1]) <= region_px / 2:
                hidden[i] = True
    return hidden


@pytest.mark.parametrize("share,region_px,seed", [(0.5, 32.0, 0), (0.3, 10.0, 1), (0.9, 50.0, 2), (1.0, 8.0, 3)])
def test_region_mask_equals_a_plain_loop(share, region_px, seed):
    from evpose.pretext.refill import region_mask

    xy = np.random.default_rng(seed).uniform(0, 200, (300, 2)).round()
    got = region_mask(xy, share, region_px, np.random.default_rng(seed))
    want = region_mask_loop(xy, share, region_px, np.random.default_rng(seed))
    np.testing.assert_array_equal(got, want)
    assert got.sum() >= np.ceil(share * len(xy))


def test_refill_region_masking_hides_whole_regions_and_defeats_copying():
    graph = EventGraphTransform(r=5.0, max_num_neighbors=16, tore_k=1, max_nodes=None)
    s = sample(5)
    d_nodes = PretextTransform(graph, [RefillTask(mask_share=0.5, mask="nodes")], seed=0)(s)
    d_reg = PretextTransform(graph, [RefillTask(mask_share=0.5, mask="regions", region_px=24)], seed=0)(s)
    hidden = ~d_reg.refill_shown
    assert 0.5 <= hidden.float().mean() < 0.8
    # a hidden node's nearest shown node is farther away than with independent masking
    def gap(d):
        h, sh = ~d.refill_shown, d.refill_shown
        return torch.cdist(d.pos[h, :2], d.pos[sh, :2]).min(1).values.median()
    assert gap(d_reg) > 3 * gap(d_nodes)
    with pytest.raises(ValueError, match="refill mask must be 'regions' or 'nodes', got 'box'"):
        RefillTask(mask="box")


@pytest.mark.parametrize("mask", ["regions", "nodes"])
def test_refill_edges_come_from_the_nearest_shown_nodes(mask):
    graph = EventGraphTransform(r=5.0, max_num_neighbors=16, tore_k=1)
    d = PretextTransform(graph, [RefillTask(mask_share=0.5, mask=mask, region_px=24, k_shown=3)], seed=1)(sample(2))
    src, dst = d.refill_edge_index
    shown = d.refill_shown
    hidden = torch.nonzero(~shown).flatten()
    assert torch.all(shown[src]) and torch.all(~shown[dst])
    assert torch.equal(torch.unique(dst), hidden) and torch.all(torch.bincount(dst, minlength=len(shown))[hidden] == 3)
    # brute force: the 3 smallest distances to shown nodes are the edges' distances, nearest first
    dist = torch.cdist(d.pos.double(), d.pos[shown].double())
    want = dist[dst.view(-1, 3)[:, 0]].topk(3, dim=1, largest=False).values
    got = (d.pos[dst] - d.pos[src]).double().norm(dim=1).view(-1, 3)
    torch.testing.assert_close(got, want)
    # the copying baseline is the class of the nearest one
    cls = torch.where(d.part < 0, NUM_PARTS, d.part)
    nearest_cls = cls[shown][dist[hidden].argmin(1)]
    assert (d.refill_nearest[hidden] == nearest_cls).float().mean() > 0.98  # equal up to distance ties
    assert torch.all(d.refill_nearest[shown] == -1)
