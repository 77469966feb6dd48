"""`evpose-predict`: joints per window of a recording as JSON and CSV, plus PNG overlays, or with
``stream=true`` a pose track at a fixed rate from overlapping windows (conf/predict.yaml)."""

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
    from ..data.windows import constant_count_windows, constant_duration_windows, window_history
    from ..estimator import load_estimator
    from ..io import EventRecording
    from ..types import JOINT_NAMES

    rec = EventRecording(cfg.input)  # a bad input is refused before the network is built
    est = load_estimator(cfg.ckpt_path, device=cfg.device)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.get("stream", False):
        return run_stream(cfg, rec, est, out)
    rows, records, plotted = [], [], []
    with rec:
        for cam_name in _cameras(cfg, rec):
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
                preds = est.predict_many([(ev, cam, window_history(rec, w, est.history_us)) for ev, w in zip(evs, chunk)],
                                         batch_size=cfg.batch_size)
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
    meta = {"checkpoint": str(cfg.ckpt_path), "input": str(cfg.input), "joint_names": list(JOINT_NAMES),
            "window": cfg.window, "windows": records}
    jpath, cpath = _write(out / "predictions", meta, ["t_start_us", "t_end_us"], rows)
    print(f"{len(records)} windows predicted: {jpath}, {cpath}" + (f"; {len(plotted)} overlays in {out / 'plots'}" if plotted else ""))
    return {"json": str(jpath), "csv": str(cpath), "plots": [str(p) for p in plotted]}


def run_stream(cfg: DictConfig, rec, est, out: Path) -> dict:
    """``stream=true``: the pose track of every camera at ``rate_hz`` from overlapping windows,
    the recording fed chunk by chunk; prints the achieved rate and real-time factor."""
    import time

    from ..data.stream_windows import recording_chunks
    from ..types import JOINT_NAMES

    if cfg.window not in ("count", "duration"):
        raise ConfigError(f"window={cfg.window!r} is unknown; valid: count, duration")
    size = {"num_events": int(cfg.num_events)} if cfg.window == "count" else {"duration_us": int(cfg.duration_us)}
    tracks, rows, summary = [], [], []
    with rec:
        for cam_name in _cameras(cfg, rec):
            cam = rec.camera(cam_name)
            chunks = recording_chunks(rec, cam_name, int(cfg.stream_chunk_us))
            poses, busy = [], 0.0
            it = est.stream(chunks, cam, rate_hz=float(cfg.rate_hz), batch_size=1, **size)
            while True:
                t0 = time.perf_counter()
                p = next(it, None)
                busy += time.perf_counter() - t0
                if p is None:
                    break
                poses.append(p)
                tracks.append({"camera": cam_name, "t_us": p.t_us, "t_start_us": p.t_start_us, "num_events": p.num_events,
                               "joints2d": p.joints2d.tolist(), "confidence": p.confidence.tolist(),
                               "joints3d_world_mm": p.joints3d.tolist(), "joints3d_cam_mm": p.joints3d_cam.tolist()})
                for k, name in enumerate(JOINT_NAMES):
                    rows.append([cam_name, p.t_us, p.t_start_us, name, *p.joints2d[k], p.confidence[k], *p.joints3d[k]])
            t_first, t_last = rec.time_range(cam_name)
            span_s = (t_last - t_first) / 1e6
            line = (f"{cam_name}: {len(poses)} poses at {float(cfg.rate_hz):g} Hz over {span_s:.2f} s of events, "
                    f"computed in {busy:.2f} s: {len(poses) / max(busy, 1e-9):.1f} poses/s, "
                    f"real-time factor {span_s / max(busy, 1e-9):.2f}")
            print(line)
            summary.append({"camera": cam_name, "poses": len(poses), "stream_s": span_s, "compute_s": busy,
                            "poses_per_s": len(poses) / max(busy, 1e-9), "real_time_factor": span_s / max(busy, 1e-9)})
    meta = {"checkpoint": str(cfg.ckpt_path), "input": str(cfg.input), "joint_names": list(JOINT_NAMES),
            "rate_hz": float(cfg.rate_hz), "window": cfg.window, **size, "summary": summary, "poses": tracks}
    jpath, cpath = _write(out / "track", meta, ["t_us", "t_start_us"], rows)
    print(f"{len(tracks)} poses: {jpath}, {cpath}")
    return {"json": str(jpath), "csv": str(cpath), "summary": summary}


def _cameras(cfg: DictConfig, rec) -> list[str]:
    """The cameras to predict: ``cfg.cameras`` (each checked against the recording) or all."""
    cams = rec.camera_names if cfg.cameras is None else list(cfg.cameras)
    missing = [c for c in cams if c not in rec.cameras]
    if missing:
        raise ConfigError(f"{cfg.input}: no camera(s) {missing}; cameras: {rec.camera_names}")
    return cams


def _write(stem: Path, meta: dict, time_columns: list[str], rows: list) -> tuple[Path, Path]:
    """``<stem>.json`` (``meta``) and ``<stem>.csv`` (one row per camera, time and joint)."""
    jpath, cpath = stem.with_suffix(".json"), stem.with_suffix(".csv")
    jpath.write_text(json.dumps(meta, indent=1, allow_nan=True) + "\n")
    with cpath.open("w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["camera", *time_columns, "joint", "x_px", "y_px", "confidence", "X_mm", "Y_mm", "Z_mm"])
        wr.writerows(rows)
    return jpath, cpath


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
