"""build_event_graph and EventGraphTransform: fields, values, subsampling, batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from evpose.data import EventWindowDataset
from evpose.graph import EventGraphTransform, build_event_graph, radius_graph, relative_offsets, subsample_indices
from evpose.io import write_recording
from evpose.representations import tore_at_events, tore_upper_bound
from evpose.types import DHP19_SENSOR_SIZE, NUM_JOINTS, make_events
from tests.helpers import standing_pose

SENSOR = (20, 30)


def edge_events(rng, n=600, t0=1_000_000):
    """A bar sweeping across a small sensor: pixels fire repeatedly, with labels."""
    t = np.sort(rng.integers(t0, t0 + 30_000, n))
    x = np.clip(np.round(5 + (t - t0) / 30_000 * 20 + rng.normal(0, 1, n)), 0, SENSOR[1] - 1)
    y = rng.integers(0, SENSOR[0], n)
    return make_events(t, x, y, rng.integers(0, 2, n), part=rng.integers(-1, 10, n), person=rng.integers(-1, 1, n))


def test_fields_and_values():
    ev = edge_events(np.random.default_rng(0))
    data = build_event_graph(ev, SENSOR, r=3.0, max_num_neighbors=32, time_scale_us=2000, time_scale_px=1.0, t0=999_000)
    n = len(ev)
    assert data.num_nodes == n and data.pos.dtype == torch.float32 and data.pos.shape == (n, 3)
    np.testing.assert_allclose(data.pos[:, 0].numpy(), ev["x"])
    np.testing.assert_allclose(data.pos[:, 1].numpy(), ev["y"])
    np.testing.assert_allclose(data.pos[:, 2].numpy(), (ev["t"] - 999_000) / 2000.0, rtol=1e-6)
    assert data.t.dtype == torch.int64 and torch.equal(data.t, torch.from_numpy(ev["t"].copy()))
    assert data.t0.tolist() == [999_000] and data.num_events.tolist() == [n]
    # features: polarity +-1, then the normalised TORE at the event
    assert data.x.shape == (n, 9) and data.x.dtype == torch.float32
    np.testing.assert_array_equal(data.x[:, 0].numpy(), np.where(ev["p"] > 0, 1.0, -1.0))
    tore = tore_at_events(ev, SENSOR) / tore_upper_bound()
    assert torch.allclose(data.x[:, 1:], tore) and data.x[:, 1:].min() >= 0 and data.x[:, 1:].max() <= 1
    # edges: the radius graph of pos; their offsets (pos_j - pos_i) / r (what the models
    # compute, evpose.models.pyramid) lie in the unit ball
    assert torch.equal(data.edge_index, radius_graph(data.pos, 3.0, max_num_neighbors=32))
    assert "edge_attr" not in data  # not stored: the models derive it at each level's radius
    j, i = data.edge_index
    offsets = relative_offsets(data.pos, data.edge_index, 3.0)
    assert torch.allclose(offsets, (data.pos[j] - data.pos[i]) / 3.0)
    assert offsets.norm(dim=1).max() <= 1.0 + 1e-6
    assert torch.equal(data.part, torch.from_numpy(ev["part"].astype(np.int64)))
    assert data.person.dtype == torch.int64


def test_window_depth_scaling():
    ev = edge_events(np.random.default_rng(3))
    data = build_event_graph(ev, SENSOR, window_depth_px=10.0, t0=1_000_000, t_end=1_030_000)
    np.testing.assert_allclose(data.pos[:, 2].numpy(), (ev["t"] - 1_000_000) / 3000.0, rtol=1e-6)
    assert data.pos[:, 2].max() < 10.0
    with pytest.raises(ValueError, match="window_depth_px must be positive"):
        build_event_graph(ev, SENSOR, window_depth_px=0.0)


def test_raw_tore_history_and_no_tore():
    ev = edge_events(np.random.default_rng(1))
    raw = build_event_graph(ev[300:], SENSOR, tore_k=2, tore_normalize=False, history=ev[:300])
    assert torch.allclose(raw.x[:, 1:], tore_at_events(ev, SENSOR, k=2)[300:])
    plain = build_event_graph(ev, SENSOR, tore_k=0)
    assert plain.x.shape == (len(ev), 1)


def test_subsampling():
    ev = edge_events(np.random.default_rng(2))
    a = build_event_graph(ev, SENSOR, max_nodes=100, seed=3)
    b = build_event_graph(ev, SENSOR, max_nodes=100, seed=3)
    c = build_event_graph(ev, SENSOR, max_nodes=100, seed=4)
    assert a.num_nodes == 100 and torch.equal(a.t, b.t) and not torch.equal(a.t, c.t)
    assert (a.t[1:] >= a.t[:-1]).all() and a.num_events.tolist() == [len(ev)]
    full = build_event_graph(ev, SENSOR)
    kept = torch.from_numpy(subsample_indices(len(ev), 100, "random", 3))
    assert torch.equal(a.t, full.t[kept])
    assert torch.equal(a.x, full.x[kept])  # kept nodes keep their full-window TORE features
    u = build_event_graph(ev, SENSOR, max_nodes=60, subsample="uniform")
    assert torch.equal(u.t, torch.from_numpy(ev["t"][np.arange(60) * len(ev) // 60]))
    with pytest.raises(ValueError, match="unknown subsample mode"):
        build_event_graph(ev, SENSOR, max_nodes=10, subsample="every-other")


def test_empty_and_single_event_windows():
    empty = build_event_graph(make_events([], [], [], []), SENSOR)
    assert empty.num_nodes == 0 and empty.edge_index.shape == (2, 0) and empty.x.shape == (0, 9)
    one = build_event_graph(make_events([5], [1], [2], [1]), SENSOR)
    assert one.num_nodes == 1 and one.edge_index.shape == (2, 0) and one.pos.tolist() == [[1.0, 2.0, 0.0]]
    assert Batch.from_data_list([empty, one]).num_graphs == 2


def test_bad_input():
    ev = make_events([0, 1], [0, 30], [0, 0], [1, 1])
    with pytest.raises(ValueError, match=r"events\[1\]\.x = 30 is outside the sensor"):
        build_event_graph(ev, SENSOR)
    good = make_events([0], [0], [0], [1])
    with pytest.raises(ValueError, match="radius r must be"):
        build_event_graph(good, SENSOR, r=0)
    with pytest.raises(ValueError, match="time scale must be positive"):
        build_event_graph(good, SENSOR, time_scale_us=0)


@pytest.fixture
def recording(tmp_path, dhp19_cams):
    rng = np.random.default_rng(4)
    h, w = DHP19_SENSOR_SIZE
    n = 4000
    t = np.sort(rng.integers(0, 400_000, n))
    ev = make_events(t, rng.integers(0, w, n), rng.integers(0, h, n), rng.integers(0, 2, n))
    pose_t = np.arange(0, 400_000, 10_000, dtype=np.int64)
    poses = np.repeat(standing_pose()[None], len(pose_t), 0)
    return write_recording(tmp_path / "rec.h5", {"cam2": (dhp19_cams["cam2"], ev)}, poses=(pose_t, poses))


def test_transform_on_dataset_samples_and_batches(recording, dhp19_cams):
    transform = EventGraphTransform(r=3.0, max_nodes=800, tore_k=2)
    ds = EventWindowDataset([recording], num_events=1000, history_us=50_000, transform=transform)
    data = ds[1]
    raw = ds.raw_sample(1)
    assert data.num_nodes == 800 and data.x.shape == (800, 1 + 4) == (800, transform.num_node_features)
    assert data.t0.tolist() == [raw["window"].t_start]
    assert data.joints2d.shape == (1, NUM_JOINTS, 2) and data.visible.dtype == torch.bool
    assert data.joints3d.shape == (1, NUM_JOINTS, 3) and data.valid3d.shape == (1, NUM_JOINTS)
    assert data.depth.shape == (1, NUM_JOINTS)
    np.testing.assert_allclose(data.joints2d[0].numpy(), raw["joints2d"], rtol=1e-6)
    cam = dhp19_cams["cam2"]
    assert data.cam_K.shape == (1, 3, 3) and torch.allclose(data.cam_K[0].double(), torch.from_numpy(cam.K), rtol=1e-6)
    assert data.cam_R.shape == (1, 3, 3) and data.cam_t.shape == (1, 3)
    assert data.sensor_hw.tolist() == [list(DHP19_SENSOR_SIZE)] and data.sample_id.tolist() == [1]
    # per-window time scaling uses the window's own span
    deep = EventGraphTransform(window_depth_px=20.0, tore_k=0)(raw)
    w = raw["window"]
    span = (deep.t - w.t_start).double() * 20.0 / (w.t_end - w.t_start)
    assert torch.allclose(deep.pos[:, 2].double(), span, atol=1e-4) and deep.pos[:, 2].max() < 20.0
    # the history before the window reaches the TORE features
    no_hist = EventGraphTransform(r=3.0, max_nodes=800, tore_k=2, use_history=False)(raw)
    assert torch.equal(no_hist.pos, data.pos) and not torch.equal(no_hist.x, data.x)
    # reproducible per sample; the subsample seed depends on the sample index
    assert torch.equal(ds[1].t, data.t)
    assert not torch.equal(transform({**raw, "index": 2}).t, data.t)
    fresh = EventGraphTransform(max_nodes=800, tore_k=0, seed=None)
    assert not torch.equal(fresh(raw).t, fresh(raw).t)
    batch = Batch.from_data_list([ds[0], ds[1], ds[2]])
    assert batch.num_graphs == 3 and batch.joints2d.shape == (3, NUM_JOINTS, 2)
    assert batch.cam_K.shape == (3, 3, 3) and batch.t0.shape == (3,) and batch.sample_id.tolist() == [0, 1, 2]
    assert (batch.batch[batch.edge_index[0]] == batch.batch[batch.edge_index[1]]).all()


def test_transform_without_labels(recording):
    ds = EventWindowDataset([recording], num_events=1000, labels=False, transform=EventGraphTransform())
    data = ds[0]
    assert "joints2d" not in data and data.num_nodes == 1000
    assert "EventGraphTransform(r=8.0" in repr(EventGraphTransform())
