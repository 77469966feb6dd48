"""Event graphs, pyramid levels and degree histograms."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.collections import LineCollection
from torch_geometric.data import Batch

from evpose.graph import build_event_graph
from evpose.models import build_pyramid
from evpose.viz import in_degrees, plot_degree_histograms, plot_event_graph, plot_graph_levels
from tests.helpers import blob_window

SENSOR = (260, 346)


@pytest.fixture(scope="module")
def graphs():
    return [build_event_graph(blob_window(300, s), SENSOR, r=4.0, max_num_neighbors=6, tore_k=1) for s in (0, 1)]


def test_in_degrees_count_incoming_edges():
    ei = torch.tensor([[0, 1, 2, 2, 3], [1, 1, 0, 3, 1]])
    np.testing.assert_array_equal(in_degrees(ei, 5), [1, 3, 0, 1, 0])
    np.testing.assert_array_equal(in_degrees(torch.zeros(2, 0, dtype=torch.long), 3), [0, 0, 0])


def _edges(ax):
    return [c for c in ax.collections if isinstance(c, LineCollection)]


@pytest.mark.parametrize("color_by", ["time", "part", "polarity"])
def test_event_graph_panels(graphs, color_by):
    g = graphs[0]
    fig = plot_event_graph(g, color_by=color_by, sensor_size=SENSOR)
    xy, xt = fig.axes[0], fig.axes[1]
    assert xy.get_xlabel() == "x (px)" and xt.get_ylabel() == "t (pos units)"
    segs = _edges(xy)[0].get_segments()
    assert len(segs) == g.edge_index.shape[1]
    # every segment joins the two nodes of an edge, in x-y
    p = g.pos.numpy()
    np.testing.assert_allclose(np.stack([s[0] for s in segs]), p[g.edge_index[0].numpy()][:, :2])
    np.testing.assert_allclose(np.stack([s[1] for s in segs]), p[g.edge_index[1].numpy()][:, :2])
    assert xy.get_ylim() == (259.5, -0.5)
    assert f"{g.num_nodes} nodes, {g.edge_index.shape[1]} edges" in fig._suptitle.get_text()


def test_event_graph_of_a_batch_positions_and_edge_cap(graphs):
    batch = Batch.from_data_list(graphs)
    fig = plot_event_graph(batch, index=1, max_edges=50)
    assert fig._suptitle.get_text().startswith(f"{graphs[1].num_nodes} nodes, {graphs[1].edge_index.shape[1]} edges")
    assert len(_edges(fig.axes[0])[0].get_segments()) == 50
    np.testing.assert_allclose(fig.axes[0].collections[-1].get_offsets(), graphs[1].pos[:, :2].numpy())
    fig = plot_event_graph(graphs[0].pos, edge_index=None, color_by=np.arange(graphs[0].num_nodes))
    assert not _edges(fig.axes[0])
    with pytest.raises(ValueError, match="color_by has 3 values"):
        plot_event_graph(graphs[0], color_by=np.arange(3))
    with pytest.raises(ValueError, match="node ids below"):
        plot_event_graph(graphs[0].pos, edge_index=torch.tensor([[0], [10_000]]))
    with pytest.raises(IndexError):
        plot_event_graph(batch, index=2)


def test_graph_levels_of_one_window_of_a_batch(graphs):
    batch = Batch.from_data_list(graphs)
    levels = build_pyramid(batch.pos, batch.batch, batch.edge_index, [4.0, 8.0, 16.0], [6.0, 12.0])
    fig = plot_graph_levels(levels, index=1)
    assert len(fig.axes) == 6  # x-y and x-t per level
    for l, lv in enumerate(levels):
        keep = (lv.batch == 1).numpy()
        ei = lv.edge_index.numpy()
        n_e = int((keep[ei[0]] & keep[ei[1]]).sum())
        assert fig.axes[l].get_title().startswith(f"level {l}: {int(keep.sum())} nodes, {n_e} edges")
        np.testing.assert_allclose(fig.axes[l].collections[-1].get_offsets(), lv.pos[keep][:, :2].numpy())
    assert levels[1].num_nodes < levels[0].num_nodes


def test_degree_histograms(graphs):
    g = graphs[0]
    deg = in_degrees(g.edge_index, g.num_nodes)
    fig = plot_degree_histograms({"a": g, "b": (g.edge_index[:, :10], g.num_nodes)}, title="degrees")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0] == f"a: mean {deg.mean():.1f}, isolated {100 * (deg == 0).mean():.1f}%"
    assert labels[1].startswith(f"b: mean {10 / g.num_nodes:.1f}")
    with pytest.raises(ValueError):
        plot_degree_histograms({})
