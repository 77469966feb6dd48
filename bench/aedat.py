"""AEDAT 2.0 decode throughput, background-activity filter throughput, and the time and
peak memory of converting DHP19-like recordings of growing size.

Writes synthetic DHP19-like AEDAT files (four cameras, a moving blob per camera, noise,
a hot pixel, IMU samples, two start special events; about 1.5 M events/s) in a temporary
folder and deletes them afterwards. Each conversion runs in a fresh process that reports
its own peak resident memory. Figures are medians over repeats.

    python bench/aedat.py [--decode-mb 256] [--convert-gb 0.25 1.0] [--repeats 3] [--tmp /tmp]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HEADER = b"#!AER-DAT2.0\r\n# This is a raw AE data file - do not edit\r\n# AEChip: ch.unizh.ini.jaer.chip.multicamera.MultiDavis346BCameraChip\r\n"
RATE = 1.5e6  # events per second, four cameras together
BLOCK = 1 << 20


def write_synthetic_aedat(path: Path, num_records: int, seed: int = 0) -> float:
    """Stream a DHP19-like AEDAT file of `num_records` 8-byte records; returns its duration (s)."""
    rng = np.random.default_rng(seed)
    t0 = 1_000_000_000
    t_last = float(t0)
    with open(path, "wb") as f:
        f.write(HEADER)
        for a in range(0, num_records, BLOCK):
            n = min(BLOCK, num_records - a)
            t = t_last + np.cumsum(rng.exponential(1e6 / RATE, n))
            t_last = float(t[-1])
            cam = rng.integers(0, 4, n)
            phase = (t - t0) / 1e6 * 2.0 + cam
            x = 173 + 60 * np.sin(phase) + rng.normal(0, 25, n)
            y = 130 + 40 * np.cos(phase) + rng.normal(0, 35, n)
            noise = rng.random(n) < 0.15
            x[noise], y[noise] = rng.uniform(0, 346, noise.sum()), rng.uniform(0, 260, noise.sum())
            hot = rng.random(n) < 0.03
            x[hot], y[hot] = 17 + cam[hot], 200
            x = np.clip(x, 0, 345).astype(np.uint32)
            y = np.clip(y, 0, 259).astype(np.uint32)
            address = (y << 22) | (x << 12) | (rng.integers(0, 2, n, dtype=np.uint32) << 11) | cam.astype(np.uint32)
            imu = rng.random(n) < 0.0007
            address[imu] = 0x80000800 | cam[imu].astype(np.uint32)
            if a == 0:  # DHP19's start: two duplicated special events half a second in
                k = int(np.searchsorted(t, t0 + 500_000))
                address[k : k + 2] = 0x400
            rec = np.empty((n, 2), dtype=">u4")
            rec[:, 0] = address
            rec[:, 1] = (t.astype(np.int64) % (1 << 32)).astype(np.uint32)
            f.write(rec.tobytes())
    return (t_last - t0) / 1e6


def write_vicon(path: Path, seconds: float, seed: int = 0) -> None:
    import scipy.io

    from evpose.types import JOINT_NAMES

    n = max(int((seconds - 0.6) * 100), 1)
    rng = np.random.default_rng(seed)
    scipy.io.savemat(path, {"XYZPOS": {j: np.cumsum(rng.normal(0, 2, (n, 3)), axis=0) + [0, 0, 1000] for j in JOINT_NAMES}})


def bench_decode(path: Path, repeats: int) -> list[tuple[int, float, float]]:
    from evpose.io.aedat import AedatReader

    size = path.stat().st_size
    rows = []
    for chunk in (1 << 18, 1 << 20, 1 << 22):
        times, events = [], 0
        for _ in range(repeats):
            t = time.perf_counter()
            with AedatReader(path, chunk_records=chunk) as r:
                events = sum(len(c) for c in r)
            times.append(time.perf_counter() - t)
        s = statistics.median(times)
        rows.append((chunk, size / s / 1e6, events / s / 1e6))
    return rows


def bench_filter(repeats: int, n: int = 4_000_000) -> dict:
    from evpose.io.dhp19 import BackgroundActivityFilter

    rng = np.random.default_rng(1)
    t = 10**9 + np.sort(rng.integers(0, int(n / RATE * 1e6), n))
    col = np.clip(rng.normal(173, 30, n) + 346 * rng.integers(0, 4, n), 0, 1383).astype(np.int64)
    row = np.clip(rng.normal(130, 40, n), 0, 259).astype(np.int64)
    out = {}
    for name, tt, m in (("monotone time", t, n), ("any order", np.concatenate([t[1:2], t[:-1]]), n // 4)):
        times = []
        for _ in range(repeats):
            f = BackgroundActivityFilter()
            s = time.perf_counter()
            for a in range(0, m, 1 << 20):
                f(tt[a : min(a + (1 << 20), m)], col[a : min(a + (1 << 20), m)], row[a : min(a + (1 << 20), m)])
            times.append(time.perf_counter() - s)
        out[name] = m / statistics.median(times) / 1e6
    return out


def peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_convert(aedat: str, mat: str, out: str) -> None:
    """Runs in a fresh process: convert one recording, print time and memory as JSON."""
    from evpose.io.dhp19 import convert_recording

    rss_imports = peak_rss_mb()
    t = time.perf_counter()
    attrs = convert_recording(aedat, mat, out, subject=1, session=1, movement=1)
    seconds = time.perf_counter() - t
    print(json.dumps({
        "seconds": seconds,
        "rss_imports_mb": rss_imports,
        "peak_rss_mb": peak_rss_mb(),
        "out_bytes": os.path.getsize(out),
        "written": sum(attrs["event_counts"]["written"].values()),
        "total": attrs["event_counts"]["total"],
    }))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--decode-mb", type=float, default=256)
    ap.add_argument("--convert-gb", type=float, nargs="*", default=[0.25, 1.0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tmp", default=None, help="folder for the temporary files (default: the system's)")
    ap.add_argument("--child-convert", nargs=3, metavar=("AEDAT", "MAT", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_convert:
        child_convert(*args.child_convert)
        return

    print(f"machine: {platform.machine()}, {platform.processor() or platform.platform()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, numpy {np.__version__}\n")
    with tempfile.TemporaryDirectory(dir=args.tmp) as d:
        d = Path(d)
        path = d / "decode.aedat"
        write_synthetic_aedat(path, int(args.decode_mb * 1e6 / 8))
        print(f"## AEDAT 2.0 decode ({path.stat().st_size / 1e6:.0f} MB file, page cache warm, median of {args.repeats})\n")
        print("| chunk (records) | MB/s | M events/s |\n| --- | --- | --- |")
        for chunk, mbs, evs in bench_decode(path, args.repeats):
            print(f"| 2^{chunk.bit_length() - 1} | {mbs:.0f} | {evs:.1f} |")
        path.unlink()

        print(f"\n## Background-activity filter (DHP19 map 1384 x 260, dt = 70 ms, median of {args.repeats})\n")
        print("| stream | M events/s |\n| --- | --- |")
        for name, evs in bench_filter(args.repeats).items():
            print(f"| {name} | {evs:.1f} |")

        print("\n## Converting one recording (fresh process; all filters on; peak resident memory)\n")
        print("| .aedat | events | time (s) | MB/s in | peak RSS (MB) | RSS after imports (MB) | .h5 out (MB) |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for gb in args.convert_gb:
            aedat, mat, out = d / "mov.aedat", d / "S1_1_1.mat", d / "out.h5"
            seconds = write_synthetic_aedat(aedat, int(gb * 1e9 / 8))
            write_vicon(mat, seconds)
            size = aedat.stat().st_size
            r = subprocess.run([sys.executable, __file__, "--child-convert", str(aedat), str(mat), str(out)],
                               capture_output=True, text=True, check=True)
            m = json.loads(r.stdout.strip().splitlines()[-1])
            print(f"| {size / 1e9:.2f} GB | {m['total'] / 1e6:.0f} M | {m['seconds']:.0f} | {size / 1e6 / m['seconds']:.0f} | "
                  f"{m['peak_rss_mb']:.0f} | {m['rss_imports_mb']:.0f} | {m['out_bytes'] / 1e6:.0f} |")
            for p in (aedat, mat, out):
                p.unlink()


if __name__ == "__main__":
    main()
