"""Decode speed of the event-file libraries evpose-import could use (README, "Importing recordings").

Writes one recording of N events (default 5 M, a 640 x 480 sensor, a moving blob plus noise)
in every format each library can write, then times every library that can read a format
decoding the whole file to numpy arrays, chunk by chunk (best of ``--repeat`` runs).
Libraries that are not installed are left out. Run::

    python bench/import_decoders.py [--events 5000000] [--repeat 2] [--dir /tmp/evbench]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

# bench/aedat.py (evpose's AEDAT 2.0 benchmark) would shadow the aedat library
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

W, H = 640, 480


def make_events(n: int, seed: int = 0) -> np.ndarray:
    """n time-sorted events, about 1 M events/s (unique timestamps are not required)."""
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, n, n)).astype(np.uint64)  # ~1 event per microsecond
    s = t / max(n, 1)
    x = np.clip(W / 2 + 200 * np.sin(6 * s) + rng.normal(0, 30, n), 0, W - 1).astype(np.uint16)
    y = np.clip(H / 2 + rng.normal(0, 60, n), 0, H - 1).astype(np.uint16)
    noise = rng.random(n) < 0.2
    x[noise] = rng.integers(0, W, noise.sum())
    y[noise] = rng.integers(0, H, noise.sum())
    ev = np.zeros(n, dtype=[("t", "<u8"), ("x", "<u2"), ("y", "<u2"), (("p", "on"), "?")])  # faery's dtype
    ev["t"], ev["x"], ev["y"], ev["on"] = t, x, y, rng.random(n) < 0.5
    return ev


def have(mod: str) -> bool:
    return importlib.util.find_spec(mod) is not None


# ---------------------------------------------------------------- writers (each library's own)
def write_faery(ev, folder: Path) -> dict[str, Path]:
    import faery

    out = {}
    for name, suffix, version in (("aedat4", ".aedat4", None), ("evt2", ".raw", "evt2"), ("evt3", ".raw", "evt3"),
                                  ("dat", ".dat", "dat2"), ("csv", ".csv", None)):
        path = folder / f"faery_{name}{suffix}"
        faery.events_stream_from_array(ev, dimensions=(W, H)).to_file(path, version=version)
        out[name] = path
    return out


def write_expelliarmus(ev, folder: Path) -> dict[str, Path]:
    from expelliarmus import Wizard

    arr = np.zeros(len(ev), dtype=[("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "u1")])
    arr["t"], arr["x"], arr["y"], arr["p"] = ev["t"], ev["x"], ev["y"], ev["on"]
    out = {}
    for enc, suffix in (("evt2", ".raw"), ("evt3", ".raw"), ("dat", ".dat")):
        path = folder / f"expelliarmus_{enc}{suffix}"
        Wizard(encoding=enc).save(path, arr)
        out[enc] = path
    return out


def write_dv(ev, folder: Path) -> dict[str, Path]:
    import dv_processing as dv

    path = folder / "dv_aedat4.aedat4"
    writer = dv.io.MonoCameraWriter(str(path), dv.io.MonoCameraWriter.EventOnlyConfig("cam", (W, H)))
    for i in range(0, len(ev), 1 << 16):  # no numpy constructor: one push_back per event
        store = dv.EventStore()
        for t, x, y, on in ev[i : i + (1 << 16)].tolist():
            store.push_back(t, x, y, on)
        writer.writeEvents(store)
    del writer
    return {"aedat4": path}


# ---------------------------------------------------------------- readers: total events, checksum of t
def read_faery(path: Path) -> tuple[int, int]:
    import faery

    n, s = 0, 0
    for chunk in faery.events_stream_from_file(path):
        n += len(chunk)
        s += int(chunk["t"][-1]) if len(chunk) else 0
    return n, s


def read_aedat(path: Path) -> tuple[int, int]:
    import aedat

    n, s = 0, 0
    for packet in aedat.Decoder(path):
        if "events" in packet:
            e = packet["events"]
            n += len(e)
            s += int(e["t"][-1]) if len(e) else 0
    return n, s


def read_expelliarmus(path: Path, encoding: str) -> tuple[int, int]:
    from expelliarmus import Wizard

    n, s = 0, 0
    for chunk in Wizard(encoding=encoding, fpath=path, chunk_size=1 << 18).read_chunk():
        n += len(chunk)
        s += int(chunk["t"][-1]) if len(chunk) else 0
    return n, s


def read_dv(path: Path) -> tuple[int, int]:
    import dv_processing as dv

    reader = dv.io.MonoCameraRecording(str(path))
    n, s = 0, 0
    while reader.isRunning():
        batch = reader.getNextEventBatch()
        if batch is not None and batch.size():
            e = batch.numpy()
            n += len(e)
            s += int(e["timestamp"][-1])
    return n, s


def read_numpy_csv(path: Path) -> tuple[int, int]:
    """evpose's own CSV reader (numpy, chunked)."""
    from evpose.io.importers import read_text_chunks

    n, s = 0, 0
    for chunk in read_text_chunks(path, chunk_events=1 << 18):
        n += len(chunk)
        s += int(chunk["t"][-1]) if len(chunk) else 0
    return n, s


def best_of(fn, repeat: int) -> tuple[float, int]:
    times, n = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        n, _ = fn()
        times.append(time.perf_counter() - t0)
    return min(times), n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=5_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/evbench"))
    ap.add_argument("--reuse", action="store_true", help="decode the files a previous run left in --dir")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    ev = make_events(args.events)
    files: dict[tuple[str, str], Path] = {}
    for lib, mod, writer in (("faery", "faery", write_faery), ("expelliarmus", "expelliarmus", write_expelliarmus),
                             ("dv-processing", "dv_processing", write_dv)):
        if not have(mod):
            continue
        if args.reuse:
            for path in sorted(args.dir.glob(f"{lib.replace('-processing', '')}_*")):
                files[(lib, path.stem.split("_", 1)[1])] = path
            continue
        t0 = time.perf_counter()
        for fmt, path in writer(ev, args.dir).items():
            files[(lib, fmt)] = path
        print(f"wrote with {lib} in {time.perf_counter() - t0:.1f} s", flush=True)

    # every library reads every file of its formats, whoever wrote it
    decoders = {  # library -> (module, {format: reader(path)})
        "faery": ("faery", {f: read_faery for f in ("aedat4", "evt2", "evt3", "dat", "csv")}),
        "aedat": ("aedat", {"aedat4": read_aedat}),
        "dv-processing": ("dv_processing", {"aedat4": read_dv}),
        "expelliarmus": ("expelliarmus", {f: (lambda p, f=f: read_expelliarmus(p, f)) for f in ("evt2", "evt3", "dat")}),
        "numpy (evpose)": ("numpy", {"csv": read_numpy_csv}),
    }
    print(f"\n{args.events / 1e6:g} M events, {W} x {H}, best of {args.repeat}\n")
    print("| library | format | file written by | size MB | decode s | M events/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for lib, (mod, readers) in decoders.items():
        if not have(mod):
            continue
        for (by, fmt), path in sorted(files.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            if fmt not in readers:
                continue
            try:
                sec, n = best_of(lambda: readers[fmt](path), args.repeat)
            except Exception as e:  # noqa: BLE001  (a library failing on a file is a result too)
                print(f"| {lib} | {fmt} | {by} | {path.stat().st_size / 1e6:.1f} | failed: {type(e).__name__}: "
                      f"{str(e).splitlines()[0][:80]} | |", flush=True)
                continue
            flag = "" if n == args.events else f" ({n} events!)"
            print(f"| {lib} | {fmt} | {by} | {path.stat().st_size / 1e6:.1f} | {sec:.2f}{flag} | {n / sec / 1e6:.1f} |", flush=True)


if __name__ == "__main__":
    main()
