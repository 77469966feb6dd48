"""TORE volumes and event graphs: throughput against reference implementations.

On realistic windows of 7.5k, 100k and 1M events: from the synthetic demo recordings
when data/synth/demo/manifest.json exists, else from recordings simulated on the fly
with evpose.synth, else from a built-in generator of moving shapes whose edges fire (so
pixels repeat as in real recordings); the output says which:

- TORE batch form (evpose) vs a plain per-event Python loop and a straightforward numpy
  port (sort by time, then k rounds of np.unique picking each pixel's next most recent
  event), on the demo windows and on events spread uniformly over the sensor (the demo
  sensor and 260x260), plus evpose's other TORE forms (10 sample times at once,
  streaming, at events) and its ToreVolumeWriter (window after window into one reused
  volume, writing only the slots events touch);
- radius_graph (evpose, spatial hashing) vs scipy.spatial.cKDTree (query with
  k = cap + 1 and distance_upper_bound = r) and torch_cluster.radius_graph when
  installed, same r and cap; knn_graph vs cKDTree; the whole window -> graph builder;
- peak memory of the 1M-event TORE and graph (each in a fresh process: peak RSS minus
  the RSS before the call).

Figures are medians over repeats, all single-threaded by default (torch threads and
cKDTree workers alike), in wall time or (``--clock cpu``, for a machine other jobs load)
this process's CPU time. Prints markdown tables.

    python bench/representations.py [--threads 1] [--sizes 7500 100000 1000000] [--quick]
                                    [--source auto|demo|synth|shapes] [--clock wall|cpu]
                                    [--tore-only]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import random
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from evpose.types import DHP19_SENSOR_SIZE, make_events

ROOT = Path(__file__).resolve().parents[1]
DEMO_MANIFEST = ROOT / "data" / "synth" / "demo" / "manifest.json"
R, CAP, KNN_K, TORE_K = 3.0, 32, 16, 4
TIME_SCALE = 1e-3  # px per us: 1 ms == 1 px, evpose's default


# --------------------------------------------------------------------------- events


def moving_shapes_events(n: int, rate_hz: float = 250_000, seed: int = 0, noise: float = 0.05) -> np.ndarray:
    """n time-sorted events on a DHP19 sensor from 8 discs oscillating at 0.3-1.5 Hz:
    events fire on their edges (polarity from the motion direction) plus uniform noise,
    at a DHP19-like rate (250k events/s: 7.5k events last 30 ms)."""
    rng = np.random.default_rng(seed)
    h, w = DHP19_SENSOR_SIZE
    t = np.sort(rng.uniform(0, n / rate_hz * 1e6, n)).astype(np.int64)
    s = 8
    c0 = rng.uniform([60, 50], [w - 60, h - 50], (s, 2))
    amp = rng.uniform(10, 60, (s, 2))
    freq = rng.uniform(0.3, 1.5, (s, 1)) * 2 * np.pi
    phase = rng.uniform(0, 2 * np.pi, (s, 2))
    rad = rng.uniform(6, 25, s)
    which = rng.integers(0, s, n)
    ts = t * 1e-6
    centre = c0[which] + amp[which] * np.sin(freq[which] * ts[:, None] + phase[which])
    vel = amp[which] * freq[which] * np.cos(freq[which] * ts[:, None] + phase[which])
    ang = rng.uniform(0, 2 * np.pi, n)
    d = np.stack([np.cos(ang), np.sin(ang)], 1)
    xy = centre + rad[which, None] * d + rng.normal(0, 0.7, (n, 2))
    p = (np.einsum("ij,ij->i", d, vel) > 0).astype(np.int8)
    is_noise = rng.random(n) < noise
    xy[is_noise] = rng.uniform([0, 0], [w, h], (is_noise.sum(), 2))
    p[is_noise] = rng.integers(0, 2, is_noise.sum())
    x = np.clip(np.round(xy[:, 0]), 0, w - 1)
    y = np.clip(np.round(xy[:, 1]), 0, h - 1)
    return make_events(t, x, y, p)


def uniform_events(n: int, sensor_size, rate_hz: float = 250_000, seed: int = 0) -> np.ndarray:
    """n time-sorted events spread uniformly over the sensor (every pixel alike, random
    polarity), at a DHP19-like rate (250k events/s): the worst case for locality."""
    rng = np.random.default_rng(seed)
    h, w = sensor_size
    t = np.sort(rng.uniform(0, n / rate_hz * 1e6, n)).astype(np.int64)
    return make_events(t, rng.integers(0, w, n), rng.integers(0, h, n), rng.integers(0, 2, n))


def demo_stream(max_events: int) -> tuple[np.ndarray, tuple[int, int], str] | None:
    """The busiest camera streams of the synthetic demo recordings, one after the other
    (times shifted so that they follow), up to max_events; None without demo data."""
    if not DEMO_MANIFEST.exists():
        return None
    from evpose.data import split_recordings
    from evpose.io import EventRecording

    root = DEMO_MANIFEST.parent
    paths = []
    for split in ("train", "val", "test"):
        try:
            paths += split_recordings(root, split)
        except (KeyError, ValueError, FileNotFoundError):
            continue
    parts, total, offset, sensor, used = [], 0, 0, None, 0
    for path in paths:
        with EventRecording(path) as rec:
            cam = max(rec.camera_names, key=rec.num_events)
            sensor = rec.camera(cam).sensor_size
            ev = rec.events_slice(cam, 0, min(rec.num_events(cam), max_events - total))
        if len(ev) == 0:
            continue
        ev = make_events(ev["t"] - ev["t"][0] + offset, ev["x"], ev["y"], ev["p"])
        offset = int(ev["t"][-1]) + 1000
        parts.append(ev)
        total += len(ev)
        used += 1
        if total >= max_events:
            break
    if not parts:
        return None
    return np.concatenate(parts), sensor, f"synthetic demo data ({used} recording(s), busiest camera, {root})"


SYNTH_MOVEMENTS = ("walk", "jumping_jacks", "wave", "squats", "punches", "kicks")


def synth_stream(max_events: int) -> tuple[np.ndarray, tuple[int, int], str] | None:
    """Recordings simulated on the fly with evpose.synth (subject 1, seed 0, 2 s each,
    every camera), the streams one after the other (times shifted), up to max_events."""
    try:
        from evpose.synth import synthesize_recording
    except ImportError:
        return None
    parts, total, offset, used, sensor = [], 0, 0, [], DHP19_SENSOR_SIZE
    for movement in SYNTH_MOVEMENTS * 4:
        rec = synthesize_recording(subject=1, movement=movement, seed=len(used), duration_s=2.0)
        for cam in sorted(rec.events):
            ev = rec.events[cam][: max_events - total]
            if len(ev) == 0:
                continue
            parts.append(make_events(ev["t"] - ev["t"][0] + offset, ev["x"], ev["y"], ev["p"]))
            offset = int(parts[-1]["t"][-1]) + 1000
            total += len(ev)
        used.append(movement)
        if total >= max_events:
            break
    return np.concatenate(parts), sensor, (
        f"evpose.synth recordings simulated on the fly ({', '.join(used)}; 2 s each, every camera's "
        "stream in turn): no data/synth/demo/manifest.json"
    )


def windows(sizes: list[int], source: str = "auto") -> tuple[dict[int, np.ndarray], tuple[int, int], str]:
    """Windows of the given sizes from the start of one stream: the demo data, else
    evpose.synth on the fly, else the moving-shapes generator (``source`` forces one)."""
    found = None
    if source in ("auto", "demo"):
        found = demo_stream(max(sizes))
        if found is not None and len(found[0]) < max(sizes):
            found = None
    if found is None and source in ("auto", "synth"):
        found = synth_stream(max(sizes))
    if found is None:
        found = (moving_shapes_events(max(sizes)), DHP19_SENSOR_SIZE,
                 "built-in generator of moving shapes (discs oscillating over the sensor)")
    stream, sensor, label = found
    return {n: stream[:n] for n in sizes}, sensor, label


# --------------------------------------------------------------------------- references


def tore_loop(events: np.ndarray, sample_time: float, sensor_size, k=TORE_K, min_dt=150.0, max_dt=5e6) -> np.ndarray:
    """The plain loop: one event at a time into per-pixel buffers, then the log-ages."""
    h, w = sensor_size
    upper = math.log(max_dt + 1) - math.log(min_dt + 1)
    buffers: dict[tuple[int, int, int], list[int]] = {}
    for t, x, y, p in zip(events["t"].tolist(), events["x"].tolist(), events["y"].tolist(), events["p"].tolist()):
        if t < sample_time:
            buf = buffers.setdefault((0 if p > 0 else 1, y, x), [])
            buf.append(t)
    vol = np.full((2 * k, h, w), upper, dtype=np.float32)
    for (b, y, x), times in buffers.items():
        for j, te in enumerate(sorted(times, reverse=True)[:k]):
            v = math.log(min(sample_time - te, max_dt) + 1) - math.log(min_dt + 1)
            vol[b * k + j, y, x] = min(max(v, 0.0), upper)
    return vol


def tore_numpy_port(events: np.ndarray, sample_time: float, sensor_size, k=TORE_K, min_dt=150.0, max_dt=5e6):
    """A straightforward numpy port: newest first, then k rounds of np.unique picking each
    buffer's most recent remaining event."""
    h, w = sensor_size
    upper = math.log(max_dt + 1) - math.log(min_dt + 1)
    ev = events[events["t"] < sample_time]
    order = np.argsort(-ev["t"], kind="stable")
    t = ev["t"][order]
    key = np.where(ev["p"][order] > 0, 0, 1) * (h * w) + ev["y"][order].astype(np.int64) * w + ev["x"][order]
    vol = np.full((2, k, h * w), upper, dtype=np.float32)
    alive = np.ones(len(t), dtype=bool)
    for j in range(k):
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        _, first = np.unique(key[idx], return_index=True)
        pick = idx[first]
        dt = np.minimum(sample_time - t[pick], max_dt)
        v = np.clip(np.log(dt + 1.0) - math.log(min_dt + 1), 0.0, upper)
        vol[key[pick] // (h * w), j, key[pick] % (h * w)] = v
        alive[pick] = False
    return vol.reshape(2 * k, h, w)


def event_pos(ev: np.ndarray) -> np.ndarray:
    return np.stack([ev["x"], ev["y"], (ev["t"] - ev["t"][0]) * TIME_SCALE], 1).astype(np.float32)


# --------------------------------------------------------------------------- timing


#: The clock of every figure: wall time (perf_counter) or this process's CPU time
#: (process_time: on a loaded machine it leaves out the time other jobs hold the core).
CLOCK = time.perf_counter


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = CLOCK()
        fn()
        times.append(CLOCK() - t0)
    return statistics.median(times)


def compare_times(fns: dict, repeats: int, after: dict | None = None) -> dict:
    """Median time of each function, all run once in every round (so that a change of load
    on a shared machine hits all of them alike), in an order shuffled afresh each round.

    The order matters: a call right after the plain loop runs on caches that the loop has
    filled with its own objects, and pays for it (up to 0.3 ms of a 0.3 ms TORE call at
    7.5k events). A fixed order would put that cost on the same function every round;
    shuffled (seeded), it lands on each alike. ``after``, if given, receives for each
    function the times of its calls that came right after each other function.
    """
    rng = random.Random(0)
    names = list(fns)
    times = {name: [] for name in fns}
    previous = None
    for _ in range(repeats):
        rng.shuffle(names)
        for name in names:
            t0 = CLOCK()
            fns[name]()
            dt = CLOCK() - t0
            times[name].append(dt)
            if after is not None and previous is not None:
                after.setdefault(name, {}).setdefault(previous, []).append(dt)
            previous = name
    return {name: statistics.median(v) for name, v in times.items()}


def repeats_for(n: int, quick: bool) -> int:
    if quick:
        return 1
    return 9 if n <= 10_000 else 5 if n <= 200_000 else 3


def fmt_rate(n: int, s: float) -> str:
    r = n / s
    return f"{r / 1e6:.2f} M" if r >= 1e6 else f"{r / 1e3:.0f} k"


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_child(kind: str, path: str, sensor, queue) -> None:
    """Run one call on the events saved at ``path``; report its peak extra RSS (bytes)."""
    import threading

    torch.set_num_threads(1)
    from evpose.graph import radius_graph
    from evpose.representations import tore_at_events, tore_volume

    ev = np.load(path)
    pos = torch.from_numpy(event_pos(ev)) if kind == "graph" else None
    before = _rss()
    high_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    peak, running = [before], [True]

    def sample():  # RSS every 0.5 ms, in case the high-water mark predates the call
        while running[0]:
            peak[0] = max(peak[0], _rss())
            time.sleep(0.0005)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    if kind == "tore":
        tore_volume(ev, int(ev["t"][-1]) + 1, sensor)
    elif kind == "tore_at_events":
        tore_at_events(ev, sensor)
    else:
        radius_graph(pos, R, max_num_neighbors=CAP)
    running[0] = False
    th.join()
    high_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    # the kernel's high-water mark is exact when the call raised it; else the sampler
    exact = high_after - before if high_after > high_before else 0
    queue.put(max(exact, peak[0] - before, 0))


def peak_memory(kind: str, events: np.ndarray, sensor) -> float | None:
    """Peak extra memory (MB) of one call, measured in a fresh process."""
    import tempfile

    try:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "events.npy")
            np.save(path, events)
            ctx = mp.get_context("spawn")
            q = ctx.Queue()
            p = ctx.Process(target=_peak_child, args=(kind, path, sensor, q))
            p.start()
            p.join()
            return q.get(timeout=5) / 1e6
    except Exception as e:  # pragma: no cover - platform specific
        print(f"(peak memory of {kind} unavailable: {e})", file=sys.stderr)
        return None


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[7_500, 100_000, 1_000_000])
    ap.add_argument("--threads", type=int, default=1, help="torch threads and cKDTree workers (default 1)")
    ap.add_argument("--loop-max", type=int, default=1_000_000, help="largest window given to the plain loop")
    ap.add_argument("--quick", action="store_true", help="one repeat, no memory figures (smoke run)")
    ap.add_argument("--json", type=str, default=None, help="also write the figures to this file")
    ap.add_argument("--source", choices=("auto", "demo", "synth", "shapes"), default="auto",
                    help="where windows come from (default: demo data, else evpose.synth, else shapes)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="wall time, or this process's CPU time (for a machine loaded by other jobs)")
    ap.add_argument("--tore-only", action="store_true", help="only the TORE volume table")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter

    from scipy.spatial import cKDTree

    from evpose.graph import build_event_graph, knn_graph, radius_graph
    from evpose.representations import ToreBuilder, ToreVolumeWriter, tore_at_events, tore_volume

    try:
        import torch_cluster  # noqa: F401

        have_tc = True
    except ImportError:
        have_tc = False

    wins, sensor, source = windows(args.sizes, args.source)
    print("# evpose representations benchmark\n")
    print(f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}")
    print(f"- threads: torch {torch.get_num_threads()}, cKDTree workers {args.threads}; device: CPU")
    print(f"- windows: {source}; sensor {sensor[0]}x{sensor[1]}")
    print(f"- TORE k={TORE_K}, min_dt=150 us, max_dt=5 s, sampled just after the window's last event")
    print(f"- graph: pos = (x, y, t / 1 ms), r={R}, max_num_neighbors={CAP}; knn k={KNN_K}")
    print(f"- clock: {'CPU time of this process (process_time)' if args.clock == 'cpu' else 'wall time'}; "
          f"load average at start {os.getloadavg()[0]:.2f}")
    print("- medians over repeats (9 at 7.5k, 5 at 100k, 3 at 1M), evpose and its peers")
    print("  each run once in every round, in a shuffled order; ratios are peer time / evpose time\n")
    figures: dict = {"source": source, "threads": args.threads, "clock": args.clock, "tore": [], "sizes": {}}

    print("## TORE volume (2k x H x W), batch form\n")
    print("Three event distributions: demo windows (above), and events spread uniformly over the")
    print("sensor (same rate, time-sorted) on the demo sensor and on 260x260. evpose, the numpy port")
    print("and the plain loop run once in every round, in a shuffled order; medians over the rounds.")
    print("'after loop': the median of evpose's calls that came right after the plain loop (whose")
    print("objects then fill the caches), 15 rounds at 7.5k; 'in a run': evpose called on the same")
    print("window again and again (as a stream calls it, window after window), median of the calls.")
    print("'writer': a ToreVolumeWriter (one reused volume, only touched slots written) given this")
    print("window and its mirror image (x -> W-1-x: other pixels, same statistics) in turn, run in the")
    print("same shuffled rounds as the others; 'writer after loop' as for evpose.\n")
    print("| events | distribution | window ms | evpose ms | evpose ev/s | evpose ms after loop | evpose ms in a run "
          "| numpy port ms | plain loop ms | x numpy port | x loop | writer ms | writer ms after loop "
          "| writer ev/s | writer x loop | writer x loop, after loop |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    dists = [("demo", sensor, lambda n: wins[n])]
    for shape in (tuple(sensor), (260, 260)):
        dists.append((f"uniform {shape[0]}x{shape[1]}", shape, lambda n, shape=shape: uniform_events(n, shape)))
    for n in wins:
        for dist, sens, make in dists:
            ev = make(n)
            reps = repeats_for(n, args.quick)
            ts = int(ev["t"][-1]) + 1
            fns = {"ours": lambda: tore_volume(ev, ts, sens), "port": lambda: tore_numpy_port(ev, ts, sens)}
            mirror = ev.copy()
            mirror["x"] = sens[1] - 1 - mirror["x"]
            writer, turn = ToreVolumeWriter(sens), [ev, mirror]

            def write():
                turn.reverse()
                return writer(turn[0], ts)

            fns["writer"] = write
            if n <= args.loop_max:
                fns["loop"] = lambda: tore_loop(ev, ts, sens)
            fns["ours"]()  # warm-up (first calls of the kernels)
            write_exact = all(torch.equal(write(), tore_volume(turn[0], ts, sens)) for _ in range(2))
            after: dict = {}
            rounds = reps if n > 10_000 or args.quick else 15  # more at 7.5k: some follow the loop
            tm = compare_times(fns, rounds, after)
            ours, port, loop = tm["ours"], tm["port"], tm.get("loop", float("nan"))
            cold = after.get("ours", {}).get("loop")
            cold = statistics.median(cold) if cold else float("nan")
            w_ms = tm["writer"]
            w_cold = after.get("writer", {}).get("loop")
            w_cold = statistics.median(w_cold) if w_cold else float("nan")
            in_run = median_time(fns["ours"], rounds)
            err = float(np.abs(tore_volume(ev, ts, sens).numpy() - tore_numpy_port(ev, ts, sens)).max())
            dur = (ev["t"][-1] - ev["t"][0]) / 1e3
            print(f"| {n:,} | {dist} | {dur:.0f} | {ours * 1e3:.2f} | {fmt_rate(n, ours)} | {cold * 1e3:.2f} | {in_run * 1e3:.2f} | {port * 1e3:.1f} | "
                  f"{loop * 1e3:.0f} | {port / ours:.1f} | {loop / ours:.0f} | {w_ms * 1e3:.2f} | {w_cold * 1e3:.2f} | "
                  f"{fmt_rate(n, w_ms)} | {loop / w_ms:.0f} | {loop / w_cold:.0f} |", flush=True)
            if not write_exact:
                raise SystemExit(f"ToreVolumeWriter differs from tore_volume at {n} events ({dist})")
            figures["tore"].append(dict(events=n, distribution=dist, tore_ms=ours * 1e3, tore_numpy_ms=port * 1e3,
                                        tore_loop_ms=loop * 1e3, x_loop=loop / ours, tore_ms_after_loop=cold * 1e3,
                                        tore_ms_in_a_run=in_run * 1e3, events_per_s=n / ours,
                                        tore_max_abs_diff_vs_port=err, writer_ms=w_ms * 1e3,
                                        writer_ms_after_loop=w_cold * 1e3, writer_x_loop=loop / w_ms,
                                        writer_x_loop_after_loop=loop / w_cold, writer_events_per_s=n / w_ms))
    if args.tore_only:
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=1, default=str))
        return

    print("\n## Other TORE forms (evpose)\n")
    print("| events | 10 sample times ms | streaming update+sample ms | at events ms | at events ev/s |")
    print("|---:|---:|---:|---:|---:|")
    for n, ev in wins.items():
        reps = repeats_for(n, args.quick)
        t_lo, t_hi = int(ev["t"][0]), int(ev["t"][-1]) + 1
        times = np.linspace(t_lo, t_hi, 10)
        multi = median_time(lambda: tore_volume(ev, times, sensor), reps)
        builder = ToreBuilder(sensor)

        def stream():
            builder.reset()
            builder.update(ev)
            builder.sample(t_hi)

        streamed = median_time(stream, reps)
        at = median_time(lambda: tore_at_events(ev, sensor), reps)
        print(f"| {n:,} | {multi * 1e3:.1f} | {streamed * 1e3:.1f} | {at * 1e3:.1f} | {fmt_rate(n, at)} |")
        figures["sizes"].setdefault(n, {}).update(tore_10_times_ms=multi * 1e3, tore_stream_ms=streamed * 1e3, tore_at_events_ms=at * 1e3)

    print(f"\n## radius_graph (r={R}, cap {CAP}, nearest kept)\n")
    tc_head = " torch_cluster ms |" if have_tc else ""
    print(f"| events | edges | evpose ms | evpose ev/s | cKDTree ms | cKDTree ev/s |{tc_head} x best peer |")
    print("|---:|---:|---:|---:|---:|---:|" + ("---:|" if have_tc else "") + "---:|")
    for n, ev in wins.items():
        reps = repeats_for(n, args.quick)
        pos_np = event_pos(ev)
        pos = torch.from_numpy(pos_np)
        edges = radius_graph(pos, R, max_num_neighbors=CAP).shape[1]

        def kdtree():
            tree = cKDTree(pos_np)
            return tree.query(pos_np, k=CAP + 1, distance_upper_bound=R * (1 + 1e-6), workers=args.threads)

        fns = {"ours": lambda: radius_graph(pos, R, max_num_neighbors=CAP), "kd": kdtree}
        if have_tc:
            import torch_cluster

            fns["tc"] = lambda: torch_cluster.radius_graph(pos, R, max_num_neighbors=CAP)
        tm = compare_times(fns, reps)
        ours, kd = tm["ours"], tm["kd"]
        peers = [kd] + ([tm["tc"]] if have_tc else [])
        tc_cell = f" {tm['tc'] * 1e3:.1f} |" if have_tc else ""
        best = min(peers)
        print(f"| {n:,} | {edges:,} | {ours * 1e3:.1f} | {fmt_rate(n, ours)} | {kd * 1e3:.1f} | {fmt_rate(n, kd)} |"
              f"{tc_cell} {best / ours:.2f} |")
        figures["sizes"][n].update(radius_ms=ours * 1e3, kdtree_ms=kd * 1e3, edges=edges, radius_x_best_peer=best / ours)
    if not have_tc:
        print("\ntorch_cluster is not installed here (PyG 2.8 ignores it anyway): no torch_cluster column.")

    print(f"\n## knn_graph (k={KNN_K}) and the whole window -> graph builder\n")
    print("| events | knn evpose ms | knn cKDTree ms | x cKDTree | build_event_graph ms (TORE feats + radius) |")
    print("|---:|---:|---:|---:|---:|")
    for n, ev in wins.items():
        reps = repeats_for(n, args.quick)
        if n > 200_000:
            reps = 1
        pos_np = event_pos(ev)
        pos = torch.from_numpy(pos_np)
        tm = compare_times({"ours": lambda: knn_graph(pos, KNN_K),
                            "kd": lambda: cKDTree(pos_np).query(pos_np, k=KNN_K + 1, workers=args.threads)}, reps)
        kn, kd = tm["ours"], tm["kd"]
        build = median_time(lambda: build_event_graph(ev, sensor, r=R, max_num_neighbors=CAP), reps)
        print(f"| {n:,} | {kn * 1e3:.1f} | {kd * 1e3:.1f} | {kd / kn:.2f} | {build * 1e3:.1f} |")
        figures["sizes"][n].update(knn_ms=kn * 1e3, knn_kdtree_ms=kd * 1e3, build_ms=build * 1e3)

    big = max(args.sizes)
    if not args.quick:
        print(f"\n## Peak memory at {big:,} events (fresh process; peak RSS during the call minus RSS before)\n")
        print("| call | peak MB |")
        print("|---|---:|")
        for kind, label in (("tore", "tore_volume"), ("tore_at_events", "tore_at_events"), ("graph", "radius_graph")):
            mb = peak_memory(kind, wins[big], sensor)
            print(f"| {label} | {'n/a' if mb is None else f'{mb:.0f}'} |")
            figures[f"peak_mb_{kind}"] = mb
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1, default=str))


if __name__ == "__main__":
    main()
