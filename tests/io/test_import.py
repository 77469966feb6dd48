"""evpose-import: other event formats -> evpose dataset folders.

Faery's formats are tested on files written by faery's own writer (skipped where faery, the
optional extra ``import``, is absent); CSV and numpy need no library and always run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evpose.io import EventRecording, load_manifest
from evpose.io.errors import EventFormatError
from evpose.io.import_folder import EventImporter, assign_splits
from evpose.io.importers import MissingDecoderError, TextFormat, _header_size, open_events, read_text_chunks

ROOT = Path(__file__).resolve().parents[2]
W, H = 64, 48


def events(n=3000, seed=0, t0=1_000_000):
    """n time-sorted events with ties on a W x H sensor, starting at t0 (as plain arrays)."""
    rng = np.random.default_rng(seed)
    t = t0 + np.sort(rng.integers(0, 200_000, n))
    return t, rng.integers(0, W, n), rng.integers(0, H, n), rng.integers(0, 2, n)


def write_csv(path, t, x, y, p, header="t,x,y,p\n", sep=","):
    with open(path, "w") as f:
        f.write(header)
        for row in zip(t, x, y, p):
            f.write(sep.join(str(int(v)) for v in row) + "\n")


def read_back(path):
    with EventRecording(path) as r:
        (cam,) = r.camera_names
        ev = r.events_slice(cam, 0, r.num_events(cam))
        return r, r.camera(cam), ev, dict(r.attrs)


def importer(**kw):
    return EventImporter(progress=False, **kw)


# ---------------------------------------------------------------- faery's formats
@pytest.mark.parametrize("fmt,suffix,version", [("aedat4", ".aedat4", None), ("evt2", ".raw", "evt2"),
                                                ("evt3", ".raw", "evt3"), ("dat", ".dat", "dat2"), ("es", ".es", None)])
def test_faery_formats_round_trip(tmp_path, fmt, suffix, version):
    faery = pytest.importorskip("faery")
    t, x, y, p = events()
    arr = np.zeros(len(t), dtype=faery.EVENTS_DTYPE)
    arr["t"], arr["x"], arr["y"], arr["on"] = t, x, y, p.astype(bool)
    src = tmp_path / f"rec{suffix}"
    faery.events_stream_from_array(arr, dimensions=(W, H)).to_file(src, version=version, zero_t0=False)
    m = importer(val_share=0.0).run(src, tmp_path / "ds")
    (entry,) = m["recordings"]
    assert (entry["width"], entry["height"], entry["split"]) == (W, H, "train")
    r, cam, ev, attrs = read_back(tmp_path / "ds" / entry["path"])
    assert (cam.width, cam.height) == (W, H) and not r.has_poses and attrs["calibrated"] == 0
    # times start at 0; the offset is kept (DAT stores times relative to the file's t0: compare differences)
    np.testing.assert_array_equal(ev["t"], t - t[0])
    if fmt not in ("dat", "es"):
        assert attrs["t_offset_us"] == t[0]
    np.testing.assert_array_equal(ev["x"], x)
    np.testing.assert_array_equal(ev["y"], y)
    np.testing.assert_array_equal(ev["p"], p)


def test_missing_faery_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "faery", None)  # import faery raises ImportError
    (tmp_path / "rec.aedat4").write_bytes(b"\x00")
    with pytest.raises(MissingDecoderError, match=r"evpose\[import\]"):
        open_events(tmp_path / "rec.aedat4")


def test_prophesee_header_sizes(tmp_path):
    for text, want in ((b"% evt 3.0\n% format EVT3;width=640;height=480\n% end\n", (480, 640)),
                       (b"% evt 2.0\n% geometry 1280x720\n\x00\x01", (720, 1280)),
                       (b"% Version 2\n% Width 346\n% Height 260\n\x00", (260, 346)),
                       (b"% evt 3.0\n\x00\x80", None)):
        (tmp_path / "f.raw").write_bytes(text)
        assert _header_size(tmp_path / "f.raw") == want


# ---------------------------------------------------------------- CSV / text (numpy, by hand)
def test_csv_with_and_without_a_size_header(tmp_path):
    t, x, y, p = events()
    write_csv(tmp_path / "a.csv", t, x, y, p, header=f"t,x@{W},y@{H},on\n")  # faery's header
    write_csv(tmp_path / "b.txt", t, x, y, p * 2 - 1, header="", sep=" ")    # no header, -1/1 polarity
    src = open_events(tmp_path / "a.csv")
    assert (src.height, src.width) == (H, W)
    with pytest.raises(EventFormatError, match=r"b.txt: sensor size: .*sensor_size=\[height,width\]"):
        open_events(tmp_path / "b.txt", text=TextFormat(separator="whitespace"))
    m = importer(sensor_size=[H, W], val_share=0.0).run(tmp_path, tmp_path / "ds")  # separators found per file
    assert [e["source_file"] for e in m["recordings"]] == ["a.csv", "b.txt"]
    for e in m["recordings"]:
        _, cam, ev, attrs = read_back(tmp_path / "ds" / e["path"])
        assert (cam.height, cam.width) == (H, W) and attrs["t_offset_us"] == t[0]
        np.testing.assert_array_equal(ev["t"], t - t[0])
        np.testing.assert_array_equal(ev["p"], p)
    with pytest.raises(EventFormatError, match=r"states \(height, width\) = \(48, 64\) but sensor_size=\[10, 10\]"):
        open_events(tmp_path / "a.csv", sensor_size=[10, 10])


def test_csv_chunks_columns_and_seconds(tmp_path):
    t, x, y, p = events(n=1000)
    with open(tmp_path / "s.csv", "w") as f:  # x,y,p,t(seconds) and an extra column
        for row in zip(x, y, p, t):
            f.write(f"{row[0]},{row[1]},{row[2]},{row[3] / 1e6:.6f},0.5\n")
    fmt = TextFormat(columns=("x", "y", "p", "t"), t_scale=1e6)
    chunks = list(read_text_chunks(tmp_path / "s.csv", fmt, chunk_events=100))
    assert len(chunks) > 5
    ev = np.concatenate(chunks)
    np.testing.assert_array_equal(ev["t"], t)
    np.testing.assert_array_equal(ev["x"], x)


def test_csv_errors_name_the_line(tmp_path):
    (tmp_path / "bad.csv").write_text("t,x,y,p\n0,1,2,1\n5,1,oops,0\n")
    with pytest.raises(EventFormatError, match=r"bad.csv: text: line 3: '5,1,oops,0' is not 4 numbers"):
        list(read_text_chunks(tmp_path / "bad.csv"))
    (tmp_path / "frac.csv").write_text("0,1,2,1\n5.5,1,2,0\n")
    with pytest.raises(EventFormatError, match=r"frac.csv: t: value 5.5 on data line 2 is not an integer"):
        list(read_text_chunks(tmp_path / "frac.csv"))


def test_time_decrease_error_or_clamp(tmp_path):
    (tmp_path / "d.csv").write_text("10,1,1,1\n20,1,1,1\n15,2,2,0\n30,3,3,1\n")
    m = importer(sensor_size=[4, 4], val_share=0.0).run(tmp_path / "d.csv", tmp_path / "ds")
    assert m["recordings"] == [] and "timestamps decrease at index 2: 5 after 10" in m["failed"][0]["error"]
    m = importer(sensor_size=[4, 4], val_share=0.0, on_time_decrease="clamp").run(tmp_path / "d.csv", tmp_path / "ds")
    assert m["failed"] == [] and m["recordings"][0]["time_clamped"] == 1
    _, _, ev, _ = read_back(tmp_path / "ds" / "d.h5")
    assert ev["t"].tolist() == [0, 10, 10, 20]


# ---------------------------------------------------------------- numpy (tonic)
def test_tonic_npy(tmp_path):
    t, x, y, p = events(n=500)
    a = np.zeros(len(t), dtype=[("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "<i1")])  # tonic's ordering "xytp"
    a["t"], a["x"], a["y"], a["p"] = t, x, y, p
    np.save(tmp_path / "r.npy", a)
    m = importer(sensor_size=[H, W], val_share=0.0, chunk_events=64).run(tmp_path / "r.npy", tmp_path / "ds")
    _, _, ev, _ = read_back(tmp_path / "ds" / m["recordings"][0]["path"])
    np.testing.assert_array_equal(ev["t"], t - t[0])
    np.testing.assert_array_equal(ev["y"], y)
    np.save(tmp_path / "bad.npy", np.zeros(3))
    with pytest.raises(EventFormatError, match=r"bad.npy: npy: expected a 1-D structured array with fields t, x, y, p"):
        list(open_events(tmp_path / "bad.npy", sensor_size=[H, W]).chunks())


# ---------------------------------------------------------------- folders: split, resume, failures
def test_splits_are_stable_and_keep_a_training_recording():
    names = [f"r{i}.csv" for i in range(20)]
    s = assign_splits(names, 0.1, 0.1)
    assert sorted(s.values()).count("val") == 2 and sorted(s.values()).count("test") == 2
    more = assign_splits(names + ["new.csv"], 0.1, 0.1)
    assert sum(more[n] != s[n] for n in names) <= 2
    assert assign_splits(["a"], 0.5, 0.5) == {"a": "train"}
    assert sorted(assign_splits(["a", "b"], 0.1, 0.0).values()) == ["train", "val"]


def test_folder_resume_and_failures(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    for i, where in enumerate(["a.csv", "sub/b.csv", "c.csv"]):
        write_csv(src / where, *events(n=200, seed=i), header=f"t,x@{W},y@{H},p\n")
    (src / "broken.csv").write_text(f"t,x@{W},y@{H},p\n0,1,1,1\n1,{W},1,1\n")  # x outside the sensor
    (src / "notes.md").write_text("not events")
    out = tmp_path / "ds"
    m = importer().run(src, out)
    assert sorted(e["source_file"] for e in m["recordings"]) == ["a.csv", "c.csv", "sub/b.csv"]
    assert {e["split"] for e in m["recordings"]} == {"train", "val"}
    (failed,) = m["failed"]
    assert failed["source_file"] == "broken.csv" and f"cameras/cam0/events/x: value {W} at index 1" in failed["error"]
    assert load_manifest(out)["recordings"] == m["recordings"]
    stamp = (out / "a.h5").stat().st_mtime_ns
    (out / "c.h5.partial").write_bytes(b"left by a killed run")
    write_csv(src / "c.csv", *events(n=300, seed=9), header=f"t,x@{W},y@{H},p\n")  # changed since: imported again
    m2 = importer().run(src, out)
    assert (out / "a.h5").stat().st_mtime_ns == stamp and not (out / "c.h5.partial").exists()
    assert {e["source_file"]: e["num_events"]["cam0"] for e in m2["recordings"]}["c.csv"] == 300
    # another file into the same folder: added, the others kept
    write_csv(tmp_path / "d.csv", *events(n=100), header=f"t,x@{W},y@{H},p\n")
    m3 = importer().run(tmp_path / "d.csv", out)
    assert sorted(e["path"] for e in m3["recordings"]) == ["a.h5", "c.h5", "d.h5", "sub/b.h5"]


def test_cli_positional_input_and_exit_status(tmp_path):
    write_csv(tmp_path / "one.csv", *events(n=100), header=f"t,x@{W},y@{H},p\n")
    cmd = [sys.executable, "-m", "evpose.cli.import_events"]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = lambda *a: subprocess.run([*cmd, *a, f"hydra.run.dir={tmp_path / 'h'}", "importer.progress=false"],  # noqa: E731
                                    capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    r = run(str(tmp_path / "one.csv"), f"out={tmp_path / 'ds'}")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "ds" / "manifest.json").read_text())["recordings"][0]["path"] == "one.h5"
    (tmp_path / "two.csv").write_text("t,x,y,p\n0,1,1,1\n")
    r = run(str(tmp_path / "two.csv"), f"out={tmp_path / 'ds2'}")
    assert r.returncode == 1 and "two.csv: sensor size" in r.stdout + r.stderr
    r = run(f"out={tmp_path / 'ds3'}")
    assert r.returncode == 2 and "evpose-import: error: input is required" in r.stderr
