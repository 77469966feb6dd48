"""`evpose-predict`: joints per window of a recording as JSON and CSV, plus PNG overlays (conf/predict.yaml)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import hydra
import numpy as np
from omegaconf import DictConfig

from ..errors import ConfigError
from . import _hydra
from .errors import one_line_errors


def run(cfg: DictConfig) -> dict:
    """Predict every window of ``cfg.input``; returns the output file paths."""
    from ..data.windows import constant_count_windows, constant_duration_windows
    from ..estimator import load_estimator
    from ..io import EventRecording
    from ..types import JOINT_NAMES

    rec = EventRecording(cfg.input)  # a bad input is refused before the network is built
    est = load_estimator(cfg.ckpt_path, device=cfg.device)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows, records, plotted = [], [], []
    with rec:
        cams = rec.camera_names if cfg.cameras is None else list(cfg.cameras)
        missing = [c for c in cams if c not in rec.cameras]
        if missing:
            raise ConfigError(f"{cfg.input}: no camera(s) {missing}; cameras: {rec.camera_names}")
        for cam_name in cams:
            cam = rec.camera(cam_name)
            if cfg.window == "count":
                windows = constant_count_windows(rec, cam_name, cfg.num_events, drop_last=False)
            elif cfg.window == "duration":
                windows = constant_duration_windows(rec, cam_name, cfg.duration_us)
            else:
                raise ConfigError(f"window={cfg.window!r} is unknown; valid: count, duration")
            for i in range(0, len(windows), cfg.batch_size):
                chunk = windows[i : i + cfg.batch_size]
                evs = [rec.events_slice(cam_name, w.i0, w.i1) for w in chunk]
                preds = est.predict_many([(ev, cam) for ev in evs], batch_size=cfg.batch_size)
                for w, ev, p in zip(chunk, evs, preds):
                    if w.num_events < cfg.min_events:
                        p.confidence[:] = 0.0
                    records.append({"camera": cam_name, "i0": w.i0, "i1": w.i1, "t_start_us": w.t_start,
                                    "t_end_us": w.t_end, "num_events": w.num_events,
                                    "joints2d": p.joints2d.tolist(), "confidence": p.confidence.tolist(),
                                    "joints3d_world_mm": p.joints3d.tolist(), "joints3d_cam_mm": p.joints3d_cam.tolist()})
                    for k, name in enumerate(JOINT_NAMES):
                        rows.append([cam_name, w.t_start, w.t_end, name, *p.joints2d[k], p.confidence[k], *p.joints3d[k]])
            if cfg.plots and windows:
                plotted += _overlays(rec, cam_name, windows, [r for r in records if r["camera"] == cam_name], out, cfg.max_plots)
    jpath, cpath = out / "predictions.json", out / "predictions.csv"
    meta = {"checkpoint": str(cfg.ckpt_path), "input": str(cfg.input), "joint_names": list(JOINT_NAMES),
            "window": cfg.window, "windows": records}
    jpath.write_text(json.dumps(meta, indent=1, allow_nan=True) + "\n")
    with cpath.open("w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["camera", "t_start_us", "t_end_us", "joint", "x_px", "y_px", "confidence", "X_mm", "Y_mm", "Z_mm"])
        wr.writerows(rows)
    print(f"{len(records)} windows predicted: {jpath}, {cpath}" + (f"; {len(plotted)} overlays in {out / 'plots'}" if plotted else ""))
    return {"json": str(jpath), "csv": str(cpath), "plots": [str(p) for p in plotted]}


def _overlays(rec, cam_name, windows, records, out: Path, max_plots: int) -> list[Path]:
    from ..viz import plot_skeleton_on_events

    cam = rec.camera(cam_name)
    idx = np.unique(np.linspace(0, len(windows) - 1, min(max_plots, len(windows))).round().astype(int))
    paths = []
    (out / "plots").mkdir(exist_ok=True)
    for i in idx:
        w, r = windows[i], records[i]
        ev = rec.events_slice(cam_name, w.i0, w.i1)
        truth = vis = None
        if rec.has_poses:
            from ..data.labels import window_label

            lab = window_label(rec, w)
            truth, vis = lab.joints2d, lab.visible
        fig = plot_skeleton_on_events(ev, cam.sensor_size, np.array(r["joints2d"]), truth, vis,
                                      title=f"{cam_name} t={w.t_start / 1e3:.0f}-{w.t_end / 1e3:.0f} ms")
        paths.append(out / "plots" / f"{cam_name}_{i:05d}.png")
        fig.savefig(paths[-1], dpi=100)
    return paths


@hydra.main(version_base="1.3", config_path=_hydra.CONFIG_PATH, config_name="predict")
@one_line_errors("evpose-predict")
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
