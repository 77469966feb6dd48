"""Speed of the synthetic data generator and statistics of the data it makes.

Three tables:

1. single-worker speed per movement (demo settings, one recording each, in this process):
   wall and CPU seconds, recording-seconds per wall-second, events per second generated,
   render instants per camera-second;
2. the whole demo preset with ``--workers`` processes (wall time, as `evpose-synth` runs);
3. dataset statistics of the demo folder: events per second per camera, polarity balance,
   share of noise events, events per body part, span of 7500-event windows, joints in view.

    python bench/synth.py                    # all three (about 2-4 minutes)
    python bench/synth.py --skip-demo        # table 1 only
    python bench/synth.py --dataset data/synth/demo --skip-speed   # table 3 of an existing folder

The machine is shared: the load average before and after each part is printed, and
CPU seconds are given beside wall seconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from evpose.data.manifest import load_manifest
from evpose.io import EventRecording
from evpose.synth import PRESETS, generate_dataset, synthesize_recording
from evpose.types import PART_NAMES


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"


def load() -> str:
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def speed_table(movements, seed: int) -> None:
    cfg = PRESETS["demo"]
    print(f"\n### Single-worker speed (demo settings: {cfg.duration_s:g} s recordings, 4 DHP19 cameras, "
          f"max_step_px={cfg.max_step_px:g})\n")  # fmt: skip
    print(f"load average before: {load()}\n")
    print("| movement | wall s | CPU s | rec-s / wall-s | M events | events / wall-s | instants / camera-s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    synthesize_recording(1, "walk", seed, cfg, duration_s=0.1)  # warm up imports and caches
    rows = []
    for mv in movements:
        t0, c0 = time.perf_counter(), time.process_time()
        rec = synthesize_recording(1, mv, seed, cfg)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        n = sum(rec.num_events.values())
        inst = sum(rec.info["render_instants"].values()) / len(rec.cameras) / cfg.duration_s
        rows.append((wall, cpu, n))
        print(f"| {mv} | {wall:.2f} | {cpu:.2f} | {cfg.duration_s / wall:.2f} | {n / 1e6:.2f} | {n / wall / 1e6:.2f} M | {inst:.0f} |")
    wall = sum(r[0] for r in rows)
    cpu = sum(r[1] for r in rows)
    n = sum(r[2] for r in rows)
    secs = cfg.duration_s * len(rows)
    print(f"| **all** | {wall:.1f} | {cpu:.1f} | {secs / wall:.2f} | {n / 1e6:.1f} | {n / wall / 1e6:.2f} M | |")
    print(f"\nmedian per movement: {statistics.median(cfg.duration_s / r[0] for r in rows):.2f} rec-s / wall-s; "
          f"load average after: {load()}")  # fmt: skip
    demo_secs = len(cfg.subjects) * len(cfg.movements) * cfg.duration_s
    print(f"demo preset = {demo_secs:g} recording-seconds: {demo_secs * cpu / secs:.0f} CPU-s of simulation at this "
          f"speed (writing not included)")  # fmt: skip


def demo_table(out: Path, workers: int, seed: int) -> None:
    cfg = PRESETS["demo"]
    print(f"\n### The demo preset with {workers} worker processes\n")
    print(f"load average before: {load()}\n")
    t0, c0 = time.perf_counter(), time.process_time()
    generate_dataset(out, "demo", seed=seed, num_workers=workers, overwrite=True, progress=None)
    wall = time.perf_counter() - t0
    m = load_manifest(out)
    n = sum(sum(r["num_events"].values()) for r in m["recordings"])
    secs = sum(r["duration_s"] for r in m["recordings"])
    size = sum(r["bytes"] for r in m["recordings"])
    worker_s = sum(r["seconds"]["total"] for r in m["recordings"])
    print("| recordings | recording-s | wall s | rec-s / wall-s | M events | events / wall-s | MB on disk | summed worker s |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| {len(m['recordings'])} | {secs:g} | {wall:.1f} | {secs / wall:.2f} | {n / 1e6:.1f} | {n / wall / 1e6:.2f} M | "
          f"{size / 1e6:.0f} | {worker_s:.0f} |")  # fmt: skip
    print(f"\nload average after: {load()} (subjects {list(cfg.subjects)}, {len(cfg.movements)} movements)")


def stats_table(root: Path) -> None:
    m = load_manifest(root)
    print(f"\n### Dataset statistics: {root} ({len(m['recordings'])} recordings, seed {m['parameters']['seed']})\n")
    per_cam: dict[str, dict] = {}
    parts = np.zeros(len(PART_NAMES) + 1, dtype=np.int64)  # last bin: noise (-1)
    spans = []
    for r in m["recordings"]:
        with EventRecording(root / r["path"]) as rec:
            for cam in rec.cameras:
                n = rec.num_events(cam)
                ev = rec.events_slice(cam, 0, n, fields=("part",))
                d = per_cam.setdefault(cam, {"rate": [], "on": 0, "noise": 0, "n": 0, "vis": []})
                d["rate"].append(n / r["duration_s"])
                d["on"] += int(ev["p"].sum())
                d["noise"] += int((ev["part"] < 0).sum())
                d["n"] += n
                parts += np.bincount(np.where(ev["part"] < 0, len(PART_NAMES), ev["part"]), minlength=len(PART_NAMES) + 1)
                t = ev["t"]
                if n > 7500:
                    spans.append(np.median((t[7500 - 1 :: 7500] - t[: len(t[7500 - 1 :: 7500]) * 7500 : 7500]) / 1000.0))
                _, j3d, _ = rec.poses()
                c = rec.camera(cam)
                d["vis"].append(float(c.in_image(c.project(j3d)).mean()))
    print("| camera | events/s mean | min | max | ON share | noise share | joints in view |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for cam, d in per_cam.items():
        print(f"| {cam} | {np.mean(d['rate']) / 1e3:.0f} k | {np.min(d['rate']) / 1e3:.0f} k | {np.max(d['rate']) / 1e3:.0f} k | "
              f"{d['on'] / d['n']:.3f} | {d['noise'] / d['n']:.3f} | {np.mean(d['vis']):.3f} |")  # fmt: skip
    print(f"\nmedian span of a 7500-event window: {np.median(spans):.1f} ms (recordings' medians range "
          f"{np.min(spans):.1f} .. {np.max(spans):.1f} ms)\n")  # fmt: skip
    total = parts.sum()
    print("| part | share of events |")
    print("| --- | ---: |")
    for i, name in enumerate(PART_NAMES):
        print(f"| {name} | {parts[i] / total:.3f} |")
    print(f"| noise (-1) | {parts[-1] / total:.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-speed", action="store_true", help="skip the single-worker table")
    ap.add_argument("--skip-demo", action="store_true", help="skip generating the demo preset (and its statistics)")
    ap.add_argument("--dataset", type=Path, help="compute the statistics of this folder instead")
    ap.add_argument("--keep", type=Path, help="generate the demo into this folder (default: a temporary one)")
    args = ap.parse_args()
    print(f"## evpose-synth benchmark\n\nmachine: {machine()}")
    if not args.skip_speed:
        speed_table(PRESETS["demo"].movements, args.seed)
    if args.dataset:
        stats_table(args.dataset)
    elif not args.skip_demo:
        with tempfile.TemporaryDirectory() as tmp:
            out = args.keep or Path(tmp) / "demo"
            demo_table(out, args.workers, args.seed)
            stats_table(out)


if __name__ == "__main__":
    main()
