"""The figures of an evaluation report (PNG): per-joint errors and example windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import EventRecording
from ..types import JOINT_NAMES
from .report import METHOD_TITLES


def write_eval_plots(report: dict, out_dir) -> list[Path]:
    """Per-joint 2D/3D error bars of every method, and the best / median / worst windows
    (skeletons on the event frame, 3D poses). Returns the PNG paths."""
    from ..viz import plot_per_joint_errors, plot_pose_3d, plot_skeleton_on_events

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    methods = report["methods"]
    for key, unit, stem in (("per_joint_2d_px", "px", "per_joint_2d"), ("per_joint_3d_mm", "mm", "per_joint_3d")):
        errs = {METHOD_TITLES.get(k, k): np.asarray(v[key]) for k, v in methods.items()}
        fig = plot_per_joint_errors(errs, unit=unit, title=f"per-joint error ({unit}), {report['num_windows']} windows",
                                    joint_names=JOINT_NAMES)
        paths.append(out_dir / f"{stem}.png")
        fig.savefig(paths[-1], dpi=110)
    for ex in report.get("examples", []):
        with EventRecording(ex["recording"]) as rec:
            ev = rec.events_slice(ex["camera"], ex["i0"], ex["i1"])
            cam = rec.camera(ex["camera"])
        title = f"{ex['which']}: {Path(ex['recording']).stem} {ex['camera']}, {ex['mpjpe2d_px']:.1f} px"
        fig = plot_skeleton_on_events(ev, cam.sensor_size, np.array(ex["pred2d"]), np.array(ex["true2d"]),
                                      np.array(ex["visible"], bool), title=title)
        paths.append(out_dir / f"example_{ex['which']}_2d.png")
        fig.savefig(paths[-1], dpi=110)
        t3 = np.where(np.array(ex["valid3d"], bool)[:, None], np.array(ex["true3d"]), np.nan)
        fig = plot_pose_3d(np.array(ex["pred3d"]), t3, title=title)
        paths.append(out_dir / f"example_{ex['which']}_3d.png")
        fig.savefig(paths[-1], dpi=100)
    return paths
