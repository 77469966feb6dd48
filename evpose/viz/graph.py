"""Event graphs: nodes and edges in x-y and x-t, the hourglass pyramid, degree histograms."""

from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection

from ._style import (
    OFF_COLOUR,
    ON_COLOUR,
    image_axes,
    new_figure,
    part_class_colours,
    part_legend_handles,
    polarity_legend_handles,
    to_numpy,
)

GRAPH_COLOR_BY = ("time", "part", "polarity")
_EDGE_RGBA = (0.45, 0.45, 0.45, 0.3)


def _select_graph(data, index: int):
    """One graph of a PyG Batch (``index``), or the Data itself."""
    if hasattr(data, "get_example") and hasattr(data, "num_graphs") and getattr(data, "batch", None) is not None:
        if not 0 <= index < data.num_graphs:
            raise IndexError(f"graph index {index} out of range for a batch of {data.num_graphs}")
        return data.get_example(index)
    return data


def _edge_segments(p: np.ndarray, e: np.ndarray, dims, max_edges: int, seed: int) -> np.ndarray:
    if e.shape[1] > max_edges:
        e = e[:, np.random.default_rng(seed).choice(e.shape[1], max_edges, replace=False)]
    return np.stack([p[e[0]][:, dims], p[e[1]][:, dims]], axis=1)


def _node_colours(color_by, p, data, n):
    """``(scatter kwargs, legend kind)`` for the node colouring."""
    if isinstance(color_by, str):
        if color_by not in GRAPH_COLOR_BY:
            raise ValueError(f"unknown color_by {color_by!r}; valid: {', '.join(GRAPH_COLOR_BY)} or (N,) values")
        if color_by == "time":
            return dict(c=p[:, 2], cmap="viridis"), "t (pos units)"
        if color_by == "part":
            part = getattr(data, "part", None) if data is not None else None
            if part is None:
                raise ValueError("color_by='part' needs a graph with a 'part' field")
            return dict(color=part_class_colours(to_numpy(part))), "part"
        x = getattr(data, "x", None) if data is not None else None
        if x is None:
            raise ValueError("color_by='polarity' needs a graph with node features x (polarity first)")
        on = to_numpy(x)[:, 0] > 0
        return dict(color=np.where(on[:, None], ON_COLOUR, OFF_COLOUR)), "polarity"
    vals = to_numpy(color_by).reshape(-1)
    if len(vals) != n:
        raise ValueError(f"color_by has {len(vals)} values for {n} nodes")
    return dict(c=vals, cmap="viridis"), "node value"


def plot_event_graph(graph, edge_index=None, color_by="time", sensor_size=None, index: int = 0,
                     max_edges: int = 20_000, title: str | None = None, seed: int = 0):
    """A graph in two panels, x-y (image rows down) and x-t: nodes coloured by time, part,
    polarity or given values; edges as thin grey lines. Returns the figure.

    Args:
        graph: a PyG ``Data`` (``pos``, ``edge_index``, and ``part`` / ``x`` for those
            colourings), a ``Batch`` (graph ``index`` is drawn), or node positions.
        edge_index: edges when ``graph`` is positions (default: the graph's; None: no edges).
        color_by: ``"time"`` (default), ``"part"``, ``"polarity"`` or (N,) values.
        sensor_size: (H, W) to fix the x-y limits to the sensor (default: the data's).
        index: which graph of a batch.
        max_edges: at most this many edges drawn (a seeded random subset; default 20000).
        title: figure title (default: node and edge counts).
        seed: seed of the edge subset.

    Shapes:
        pos: (N, 3) (x px, y px, scaled t), edge_index: (2, E)
    """
    data = None
    if hasattr(graph, "pos"):
        data = _select_graph(graph, index)
        pos = data.pos
        if edge_index is None:
            edge_index = getattr(data, "edge_index", None)
        if sensor_size is None and getattr(data, "sensor_hw", None) is not None:
            sensor_size = to_numpy(data.sensor_hw).reshape(-1)[:2]
    else:
        pos = graph
    p = to_numpy(pos).astype(np.float64)
    if p.ndim != 2 or p.shape[1] != 3:
        raise ValueError(f"node positions must be (N, 3), got shape {p.shape}")
    e = None if edge_index is None else to_numpy(edge_index).astype(np.int64)
    if e is not None and (e.ndim != 2 or e.shape[0] != 2 or (e.size and (e.min() < 0 or e.max() >= len(p)))):
        raise ValueError(f"edge_index must be (2, E) with node ids below {len(p)}, got shape {e.shape}")
    kw, kind = _node_colours(color_by, p, data, len(p))
    fig, axes = new_figure(1, 2, size=(5.2, 4.2))
    sc = None
    for ax, dims, labels in zip(axes[0], ((0, 1), (0, 2)), (("x (px)", "y (px)"), ("x (px)", "t (pos units)"))):
        if e is not None and e.shape[1] and len(p):
            ax.add_collection(LineCollection(_edge_segments(p, e, list(dims), max_edges, seed), colors=_EDGE_RGBA,
                                             linewidths=0.4))
        sc = ax.scatter(p[:, dims[0]], p[:, dims[1]], s=3, zorder=3, **kw)
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
        if dims[1] == 1:
            image_axes(ax, sensor_size, ticks=True)
        else:
            ax.autoscale_view()
            if sensor_size is not None:
                ax.set_xlim(-0.5, float(sensor_size[1]) - 0.5)
    if kind == "part":
        axes[0, 1].legend(handles=part_legend_handles(), fontsize=6, loc="upper right")
    elif kind == "polarity":
        axes[0, 1].legend(handles=polarity_legend_handles(), fontsize=7, loc="upper right")
    elif len(p):
        fig.colorbar(sc, ax=axes[0, 1], shrink=0.8, label=kind)
    n_e = 0 if e is None else e.shape[1]
    fig.suptitle(title if title is not None else f"{len(p)} nodes, {n_e} edges (mean in-degree {n_e / max(len(p), 1):.1f})")
    return fig


def plot_graph_levels(levels, index: int = 0, max_edges: int = 20_000, sensor_size=None, title: str | None = None,
                      seed: int = 0):
    """The levels of the hourglass pyramid of one window: per level a column, x-y on top
    and x-t below, nodes coloured by time, edges grey. Returns the figure.

    Args:
        levels: a list of :class:`evpose.models.GraphLevel` (from
            :func:`evpose.models.build_pyramid`) or a :class:`evpose.models.BackboneOutput`.
        index: which graph of the batch (default 0).
        max_edges: at most this many edges drawn per level (seeded subset).
        sensor_size: (H, W) to fix the x-y limits (default: fit the nodes).
        title: figure title.
        seed: seed of the edge subsets.
    """
    levels = list(getattr(levels, "levels", levels))
    if not levels:
        raise ValueError("plot_graph_levels needs at least one level")
    fig, axes = new_figure(2, len(levels), size=(3.8, 3.3))
    t_range = None
    for l, lv in enumerate(levels):
        pos, batch = to_numpy(lv.pos).astype(np.float64), to_numpy(lv.batch).reshape(-1)
        keep = batch == index
        new_id = np.cumsum(keep) - 1
        p = pos[keep]
        e = to_numpy(lv.edge_index).astype(np.int64)
        e = new_id[e[:, keep[e[0]] & keep[e[1]]]] if e.size else e.reshape(2, 0)
        if t_range is None and len(p):
            t_range = (p[:, 2].min(), p[:, 2].max())
        size = 2.0 if l == 0 else min(4.0 + 4 * l, 20.0)
        for row, dims in enumerate(((0, 1), (0, 2))):
            ax = axes[row, l]
            if e.shape[1] and len(p):
                ax.add_collection(LineCollection(_edge_segments(p, e, list(dims), max_edges, seed + l), colors=_EDGE_RGBA,
                                                 linewidths=0.4))
            ax.scatter(p[:, dims[0]], p[:, dims[1]], c=p[:, 2], cmap="viridis", s=size, zorder=3,
                       vmin=None if t_range is None else t_range[0], vmax=None if t_range is None else t_range[1])
            ax.set_xlabel("x (px)", fontsize=8)
            ax.set_ylabel("y (px)" if row == 0 else "t (pos units)", fontsize=8)
            ax.tick_params(labelsize=7)
            if row == 0:
                image_axes(ax, sensor_size, ticks=True)
            else:
                ax.autoscale_view()
        axes[0, l].set_title(f"level {l}: {len(p)} nodes, {e.shape[1]} edges\nr = {lv.radius:g}, "
                             f"mean in-degree {e.shape[1] / max(len(p), 1):.1f}", fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def in_degrees(edge_index, num_nodes: int) -> np.ndarray:
    """Incoming edges per node (PyG convention: row 1 is the centre, the one a neighbour
    cap limits).

    Shapes:
        edge_index: (2, E) -> (N,) int64
    """
    e = to_numpy(edge_index).astype(np.int64)
    return np.bincount(e[1], minlength=int(num_nodes)) if e.size else np.zeros(int(num_nodes), np.int64)


def plot_degree_histograms(graphs: dict, title: str | None = None, max_degree: int | None = None):
    """In-degree histograms of several graphs of the same events (e.g. a few radii and
    neighbour caps), as step lines; the legend gives each graph's mean degree and share
    of isolated nodes. Returns the figure.

    Args:
        graphs: ``{label: Data}`` or ``{label: (edge_index, num_nodes)}``.
        title: axis title.
        max_degree: right end of the histogram (default: the largest degree).
    """
    if not graphs:
        raise ValueError("plot_degree_histograms needs at least one graph")
    degrees = {}
    for label, g in graphs.items():
        if hasattr(g, "edge_index"):
            degrees[label] = in_degrees(g.edge_index, g.num_nodes)
        else:
            ei, n = g
            degrees[label] = in_degrees(ei, n)
    top = max_degree if max_degree is not None else max(int(d.max()) if d.size else 0 for d in degrees.values())
    bins = np.arange(top + 2) - 0.5
    fig, axes = new_figure(size=(6.5, 3.6))
    ax = axes[0, 0]
    for label, d in degrees.items():
        share0 = float((d == 0).mean()) if d.size else 0.0
        ax.hist(np.minimum(d, top), bins=bins, histtype="step", linewidth=1.4,
                label=f"{label}: mean {d.mean() if d.size else 0:.1f}, isolated {100 * share0:.1f}%")
    ax.set_xlabel("in-degree (incoming edges per node)")
    ax.set_ylabel("nodes")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title)
    return fig
