"""Dataset folders: layout, manifest, evpose files, skipping, overwriting, parallel determinism."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import evpose.synth.presets as presets
from evpose.data import EventWindowDataset, load_manifest, split_recordings
from evpose.io import EventRecording
from evpose.synth import ensure_demo_data, generate_dataset, preset_config

TINY = dict(
    splits={"train": [1], "val": [2], "test": [3]},
    movements=["walk", "clapping"],
    duration_s=0.15,
    cameras=["cam2", "cam3"],
)


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth") / "tiny"
    generate_dataset(root, "demo", seed=7, num_workers=1, progress=None, **TINY)
    return root


def test_layout_and_manifest(tiny_root):
    m = load_manifest(tiny_root)
    assert m["source"] == "synthetic"
    params = m["parameters"]
    assert params["seed"] == 7 and params["duration_s"] == 0.15 and params["movements"] == ["walk", "clapping"]
    for key in ("threshold_mean", "refractory_us", "noise_rate_hz", "max_step_px", "height_range", "cameras", "splits"):
        assert key in params
    recs = m["recordings"]
    assert len(recs) == 6
    paths = sorted(r["path"] for r in recs)
    assert paths == sorted(f"{s}/S{i:02d}_{mv}.h5" for s, i in (("train", 1), ("val", 2), ("test", 3)) for mv in ("walk", "clapping"))
    for r in recs:
        f = tiny_root / r["path"]
        assert f.is_file() and f.stat().st_size == r["bytes"]
        assert r["split"] == r["path"].split("/")[0] and r["duration_s"] == 0.15
        with EventRecording(f) as rec:
            rec.validate()
            assert sorted(rec.cameras) == ["cam2", "cam3"]
            assert {c: rec.num_events(c) for c in rec.cameras} == r["num_events"]
            assert rec.has_labels("cam2", "part") and rec.has_labels("cam2", "person")
            t, j3d, _ = rec.poses()
            np.testing.assert_array_equal(t, np.arange(0, 150_001, 10_000))
            assert j3d.shape == (16, 13, 3)
            assert rec.attrs["source"] == "synthetic" and rec.attrs["movement"] == r["movement"]
            assert int(rec.attrs["subject"]) == r["subject"] and int(rec.attrs["seed"]) == 7
    assert [p.name for p in split_recordings(tiny_root, "val")] == ["S02_clapping.h5", "S02_walk.h5"]


def test_windows_with_part_labels(tiny_root):
    ds = EventWindowDataset(split_recordings(tiny_root, "train"), cameras=["cam2"], num_events=2000)
    assert len(ds) > 0
    s = ds[0]
    assert s["events"].shape == (2000,) and "part" in s["events"].dtype.names
    assert s["joints2d"].shape == (13, 2) and s["visible"].all()


def test_skip_when_complete_and_refuse_other_parameters(tiny_root, capsys):
    before = {p: p.stat().st_mtime_ns for p in tiny_root.rglob("*.h5")}
    generate_dataset(tiny_root, "demo", seed=7, num_workers=1, **TINY)
    assert "already holds this dataset" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in tiny_root.rglob("*.h5")} == before
    with pytest.raises(FileExistsError, match="other parameters; pass overwrite=true"):
        generate_dataset(tiny_root, "demo", seed=8, num_workers=1, progress=None, **TINY)


def all_events(path, cam):
    with EventRecording(path) as rec:
        return rec.events_slice(cam, 0, rec.num_events(cam))


def test_overwrite_and_incomplete(tmp_path):
    root = tmp_path / "ds"
    small = {**TINY, "splits": {"train": [1]}, "movements": ["walk"], "cameras": ["cam2"], "duration_s": 0.1}
    generate_dataset(root, "demo", seed=1, num_workers=1, progress=None, **small)
    first = all_events(root / "train/S01_walk.h5", "cam2")
    generate_dataset(root, "demo", seed=2, num_workers=1, overwrite=True, progress=None, **small)
    assert load_manifest(root)["parameters"]["seed"] == 2
    second = all_events(root / "train/S01_walk.h5", "cam2")
    assert first.tobytes() != second.tobytes()
    # a missing file makes the folder incomplete: it is regenerated without overwrite
    (root / "train/S01_walk.h5").unlink()
    generate_dataset(root, "demo", seed=2, num_workers=1, progress=None, **small)
    third = all_events(root / "train/S01_walk.h5", "cam2")
    assert third.tobytes() == second.tobytes()


@pytest.mark.slow
def test_parallel_workers_give_identical_events(tiny_root, tmp_path):
    root = tmp_path / "par"
    generate_dataset(root, "demo", seed=7, num_workers=2, progress=None, **TINY)
    for r in load_manifest(tiny_root)["recordings"]:
        for cam in ("cam2", "cam3"):
            ea, eb = all_events(tiny_root / r["path"], cam), all_events(root / r["path"], cam)
            assert len(ea) > 1000 and ea.tobytes() == eb.tobytes(), (r["path"], cam)


def test_two_people_keep_both_poses(tmp_path):
    root = tmp_path / "two"
    generate_dataset(
        root, "demo", seed=0, num_workers=1, progress=None,
        **{**TINY, "splits": {"train": [1]}, "movements": ["walk", "squats"], "cameras": ["cam2"], "num_persons": 2},
    )  # fmt: skip
    with h5py.File(root / "train/S01_walk.h5") as f:
        assert f["persons/joints3d"].shape == (2, 16, 13, 3)
        np.testing.assert_array_equal(f["persons/joints3d"][0], f["poses/joints3d"][:])
        assert set(np.unique(f["cameras/cam2/events/person"][:]).tolist()) == {-1, 0, 1}


def test_ensure_demo_data(tmp_path, monkeypatch):
    tiny = preset_config("demo", **{**TINY, "splits": {"train": [1]}, "movements": ["wave"], "duration_s": 0.1})
    monkeypatch.setitem(presets.PRESETS, "demo", tiny)
    root = ensure_demo_data(tmp_path, num_workers=1, progress=None)
    assert root == tmp_path / "synth" / "demo"
    assert [r["path"] for r in load_manifest(root)["recordings"]] == ["train/S01_wave.h5"]
    mtime = (root / "manifest.json").stat().st_mtime_ns
    assert ensure_demo_data(tmp_path, progress=None) == root
    assert (root / "manifest.json").stat().st_mtime_ns == mtime


@pytest.mark.slow
def test_cli(tmp_path):
    out = tmp_path / "cli"
    args = [
        sys.executable, "-m", "evpose.cli.synth", f"out_dir={out}", "seed=3", "num_workers=1",
        "splits={train:[1]}", "movements=[arm_raises]", "duration_s=0.1", "cameras=[cam2]",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]  # fmt: skip
    r = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    m = json.loads((out / "manifest.json").read_text())
    assert m["parameters"]["seed"] == 3 and m["recordings"][0]["path"] == "train/S01_arm_raises.h5"
    bad = subprocess.run(args[:-1] + ["movements=[moonwalk]", f"hydra.run.dir={tmp_path / 'run2'}"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2
    assert "unknown movement 'moonwalk'; valid: walk" in bad.stderr
    assert Path(sys.executable).with_name("evpose-synth").exists()
