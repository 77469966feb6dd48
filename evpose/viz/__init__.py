"""Plots of events, TORE volumes, event graphs, poses, pretext tasks, training curves and
label efficiency.

Matplotlib without pyplot: every function builds a ``matplotlib.figure.Figure`` and returns
it (no global state, safe on headless machines; Jupyter shows a returned figure inline,
``fig.savefig(path)`` writes it). Functions that draw a single panel also take ``ax=`` to
draw into a panel of your own figure.

Quick use::

    from evpose import viz
    viz.plot_event_frame(sample["events"], camera.sensor_size, color_by="part")
    viz.plot_tore(tore_volume(events, t, camera.sensor_size))
    viz.plot_inpainting(batch, module(batch), task=module.tasks["inpaint"], index=0)
    viz.plot_training_curves("logs/pretrain/runs/<run>").savefig("curves.png")
    viz.plot_learning_curve({"default": "logs/finetune/runs/<a>", "long": "logs/finetune/runs/<b>"})
    viz.plot_label_efficiency(json.load(open("<run>/label_efficiency.json")))
"""

from ._style import ON_COLOUR, OFF_COLOUR, new_figure, occupancy_rgb, part_colours, part_legend_handles
from .curves import (
    find_metrics_csv,
    group_metrics,
    plot_learning_curve,
    plot_training_curves,
    read_learning_curve,
    read_metrics_csv,
)
from .events import event_frame_rgb, plot_event_frame, plot_events_xyt
from .label_efficiency import plot_label_efficiency
from .graph import in_degrees, plot_degree_histograms, plot_event_graph, plot_graph_levels
from .poses import draw_skeleton_2d, plot_per_joint_errors, plot_pose_3d, plot_skeleton_on_events
from .pretext import plot_counts, plot_future, plot_inpainting, plot_refill
from .pretext_layout import BoxCells, FutureGrid, box_cells, future_grid, unbatch_window
from .representations import plot_tore

__all__ = [
    "BoxCells",
    "FutureGrid",
    "OFF_COLOUR",
    "ON_COLOUR",
    "box_cells",
    "draw_skeleton_2d",
    "event_frame_rgb",
    "find_metrics_csv",
    "future_grid",
    "group_metrics",
    "in_degrees",
    "new_figure",
    "occupancy_rgb",
    "part_colours",
    "part_legend_handles",
    "plot_counts",
    "plot_degree_histograms",
    "plot_event_frame",
    "plot_event_graph",
    "plot_events_xyt",
    "plot_future",
    "plot_graph_levels",
    "plot_inpainting",
    "plot_learning_curve",
    "plot_label_efficiency",
    "plot_per_joint_errors",
    "plot_pose_3d",
    "plot_refill",
    "plot_skeleton_on_events",
    "plot_tore",
    "plot_training_curves",
    "read_learning_curve",
    "read_metrics_csv",
    "unbatch_window",
]
