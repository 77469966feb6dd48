"""How predictable is the future task's part-motion target from what the model sees?

The future pretext task (evpose/pretext/future.py) asks for each body part's displacement
from the present slab to the hidden future slab (the mean position of the part's events).
This script computes, on count windows of the demo recordings (validation split, every
camera), the target exactly as the task does and the error (mean end-point error, px) of
predictors that see only the visible past:

- zero motion and constant velocity (the task's baselines);
- mean reversion: a share of (the part's mean position over the whole past - over the present slab);
- the best linear predictor from the past displacement and the mean reversion, per axis,
  fitted on half of the recordings and evaluated on the other half (out of sample).

If the best linear predictor is barely below zero motion, the target's predictable share is
small at this time scale: a model near it has learned what the target offers.

    python bench/part_motion_ceiling.py [--root data/synth/demo] [--events 7500] [--recordings 8]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evpose.io.manifest import load_manifest  # noqa: E402
from evpose.io.recording import EventRecording  # noqa: E402
from evpose.pretext import FutureTask  # noqa: E402


def part_windows(rec: EventRecording, camera: str, events: int, stride: int):
    n = rec.num_events(camera)
    for i0 in range(0, n - events + 1, stride):
        ev = rec.events_slice(camera, i0, i0 + events)
        if "part" in (ev.dtype.names or ()):
            yield ev


def window_rows(task: FutureTask, ev: np.ndarray) -> np.ndarray:
    """Per valid part: target (2), past displacement (2), mean reversion (2)."""
    t = ev["t"].astype(np.int64)
    t_first, t_end = int(t[0]), int(t[-1]) + 1
    t_split = t_first + int(round(task.past_share * (t_end - t_first)))
    dt = t_end - t_split
    past = t < t_split
    present = past & (t >= t_split - dt)
    before = past & (t < t_split - dt) & (t >= t_split - 2 * dt)
    x, y, part = ev["x"].astype(np.int64), ev["y"].astype(np.int64), ev["part"].astype(np.int64)
    motion, ok = task._displacement(part, x, y, present, ~past)
    past_motion, ok_past = task._displacement(part, x, y, before, present)
    reversion, ok_rev = task._displacement(part, x, y, present, past)  # mean(past) - mean(present)
    keep = ok & ok_past & ok_rev
    return np.concatenate([motion, past_motion, reversion], axis=1)[keep]


def epe(pred: np.ndarray, target: np.ndarray) -> float:
    return float(np.linalg.norm(pred - target, axis=1).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default="data/synth/demo")
    ap.add_argument("--split", default="val")
    ap.add_argument("--events", type=int, default=7500)
    ap.add_argument("--recordings", type=int, default=8)
    args = ap.parse_args()
    root = Path(args.root)
    names = [r["path"] for r in load_manifest(root)["recordings"] if r["split"] == args.split][: args.recordings]
    task = FutureTask()
    halves = [[], []]
    for k, name in enumerate(names):
        rec = EventRecording(root / name)
        for cam in rec.camera_names:
            for ev in part_windows(rec, cam, args.events, 2 * args.events):
                halves[k % 2].append(window_rows(task, ev))
    fit, test = (np.concatenate(h) for h in halves)
    m, past, rev = test[:, 0:2], test[:, 2:4], test[:, 4:6]
    coef = [np.linalg.lstsq(np.c_[fit[:, 2 + a], fit[:, 4 + a]], fit[:, a], rcond=None)[0] for a in range(2)]
    linear = np.stack([coef[a][0] * past[:, a] + coef[a][1] * rev[:, a] for a in range(2)], axis=1)
    rows = [("zero motion (baseline)", epe(0 * m, m)), ("constant velocity (baseline)", epe(past, m))]
    rows += [(f"mean reversion x {a:g}", epe(a * rev, m)) for a in (0.25, 0.5)]
    rows += [("best linear (past displacement, mean reversion), out of sample", epe(linear, m))]
    print(f"part-motion target, {args.split} split, {len(names)} recordings, {args.events}-event windows: "
          f"{len(test)} part-windows evaluated ({len(fit)} fitted)")
    print(f"linear coefficients (past displacement, mean reversion): x {coef[0].round(3)}, y {coef[1].round(3)}\n")
    print("| predictor | end-point error (px) |\n| --- | --- |")
    for name, v in rows:
        print(f"| {name} | {v:.3f} |")


if __name__ == "__main__":
    main()
