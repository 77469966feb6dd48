"""Write and windowed-read throughput of the evpose event file format.

Writes a 10M-event single-camera recording (events spread over 100 s, i.e. 100k ev/s,
with part/person labels), then reads random 50 ms windows by time. Prints a table;
figures are medians over repeats.

    python bench/io_throughput.py [--events 10000000] [--repeats 3] [--windows 2000]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from evpose.geometry import dhp19_cameras
from evpose.io import EventRecording, write_recording
from evpose.types import make_events


def make_stream(n: int, duration_us: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, duration_us, n))
    return make_events(
        t, rng.integers(0, 346, n), rng.integers(0, 260, n), rng.integers(0, 2, n),
        part=rng.integers(-1, 10, n), person=rng.integers(-1, 1, n),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--duration-s", type=float, default=100.0)
    ap.add_argument("--window-ms", type=float, default=50.0)
    ap.add_argument("--windows", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    duration_us = int(args.duration_s * 1e6)
    cam = dhp19_cameras()["cam2"]
    ev = make_stream(args.events, duration_us)
    rng = np.random.default_rng(1)
    win = int(args.window_ms * 1000)

    write_s, read_s, read_ev = [], [], []
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bench.h5"
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            write_recording(path, {"cam2": (cam, ev)})
            write_s.append(time.perf_counter() - t0)
        size_mb = path.stat().st_size / 1e6
        starts = rng.integers(0, duration_us - win, args.windows)
        for _ in range(args.repeats):
            with EventRecording(path) as rec:
                rec.events("cam2", 0, 1)  # loads the ms index once, as any reader does
                t0 = time.perf_counter()
                n = 0
                for s in starts:
                    n += len(rec.events("cam2", int(s), int(s) + win))
                read_s.append(time.perf_counter() - t0)
                read_ev.append(n)

    w = statistics.median(write_s)
    r = statistics.median(read_s)
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}")
    print(f"recording: {args.events:,} events over {args.duration_s:.0f} s, 1 camera, labels; file {size_mb:.0f} MB")
    print()
    print("| operation | median time | throughput |")
    print("| --- | --- | --- |")
    print(f"| write {args.events / 1e6:.0f}M events | {w:.2f} s | {args.events / w / 1e6:.2f} M events/s |")
    print(
        f"| read {args.windows} random {args.window_ms:.0f} ms windows | {r:.2f} s | "
        f"{args.windows / r:,.0f} windows/s, {statistics.median(read_ev) / r / 1e6:.2f} M events/s |"
    )


if __name__ == "__main__":
    main()
