"""The DHP19 converter on a fake DHP19 tree written byte for byte in the real formats.

The expected output is computed by a plain-loop transcription of DHP19's MATLAB
pipeline (cut, bounds, flips into the 1-based map, hot pixels, background activity,
IR masks), independent of the vectorised code.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from collections import Counter
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io

from evpose.data import load_manifest, split_recordings
from evpose.geometry import dhp19_cameras
from evpose.io import EventFormatError, EventRecording
from evpose.io.dhp19 import CAMERA_OF_ADDRESS, DHP19Converter, DHP19Filters, convert_recording
from evpose.types import JOINT_NAMES

HEADER = b"#!AER-DAT2.0\r\n# This is a raw AE data file - do not edit\r\n# AEChip: ch.unizh.ini.jaer.chip.multicamera.MultiDavis346BCameraChip\r\n"
START = 5_000_000  # the movement's start special event (us, raw clock)
# small threshold so that the fake data has hot pixels
FILTERS = DHP19Filters(hot_pixel_threshold=60, background_dt_us=20_000)


# ---------------------------------------------------------------------- writing a fake tree
def addr(x, y, p, cam):
    return (int(y) << 22) | (int(x) << 12) | (int(p) << 11) | int(cam)


def fake_events(rng, start=START, n_vicon=30, specials=(0, 1), n=2500, prefix_us=150_000, suffix_us=120_000):
    """(t, address) records of a movement: clustered events on 4 cameras, a hot pixel,
    IR-mask hits, out-of-sensor addresses, APS/IMU samples, and the special events at
    ``start + specials``."""
    span = n_vicon * 10_000
    t = np.sort(rng.integers(start - prefix_us, start + span + suffix_us, n))
    cam = rng.integers(0, 4, n)
    x = 150 + rng.integers(-5, 6, n)
    y = 130 + rng.integers(-5, 6, n)
    noise = rng.random(n) < 0.1
    x[noise], y[noise] = rng.integers(0, 346, noise.sum()), rng.integers(0, 260, noise.sum())
    hot = rng.random(n) < 0.06
    x[hot], y[hot], cam[hot] = 20, 30, 1
    edge = rng.random(n) < 0.03
    x[edge], cam[edge] = 0, rng.integers(0, 3, edge.sum())  # right edge of a camera in DHP19's map
    m1 = rng.random(n) < 0.04  # inside IR mask 1: address camera 2, X = 790 +- 1, Y = 130 +- 1
    x[m1], y[m1], cam[m1] = 346 - (790 - 692) + rng.integers(-1, 2, m1.sum()), 260 - 130 + rng.integers(-1, 2, m1.sum()), 2
    m2 = rng.random(n) < 0.04  # inside IR mask 2: address camera 3, X = 1255 +- 1, Y = 140 +- 1
    x[m2], y[m2], cam[m2] = 346 - (1255 - 1038) + rng.integers(-1, 2, m2.sum()), 260 - 140 + rng.integers(-1, 2, m2.sum()), 3
    off = rng.random(n) < 0.01
    x[off] = 400  # outside the sensor: dropped and counted
    records = [(addr(x[i], y[i], rng.integers(0, 2), cam[i]), int(t[i])) for i in range(n)]
    for k in rng.choice(n, 40, replace=False):  # APS and IMU samples
        records.insert(int(k), (0x80000000 | (0x800 if k % 2 else 0) | 0x155, int(t[k])))
    for s in specials:
        ts = start + s
        i = next(j for j, (_, tj) in enumerate(records) if tj >= ts)
        records.insert(i, (0x400 | 0x1, ts))
    return records


def write_aedat(path, records, tail=b""):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(HEADER)
        f.write(b"".join(struct.pack(">II", a, t % (1 << 32)) for a, t in records))
        f.write(tail)


def vicon_fields(rng, n):
    fields = {name: rng.normal(0, 200, (n, 3)) + [k * 100.0, 50.0, 1000.0] for k, name in enumerate(JOINT_NAMES)}
    fields["elbowL"][3] = np.nan
    return fields


def write_vicon(path, fields, v73=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    if not v73:
        scipy.io.savemat(path, {"XYZPOS": fields})
        return
    with h5py.File(path, "w", userblock_size=512) as f:
        g = f.create_group("XYZPOS")
        g.attrs["MATLAB_class"] = np.bytes_("struct")
        for name, a in fields.items():
            g.create_dataset(name, data=np.ascontiguousarray(a.T)).attrs["MATLAB_class"] = np.bytes_("double")


def add_recording(root, rng, subject, session, movement, v73=False, n_vicon=30, **kw):
    records = fake_events(rng, n_vicon=n_vicon, **kw)
    write_aedat(root / "DVS_movies" / f"S{subject}" / f"session{session}" / f"mov{movement}.aedat", records)
    fields = vicon_fields(rng, n_vicon)
    write_vicon(root / "Vicon_data" / f"S{subject}_{session}_{movement}.mat", fields, v73)
    return records, fields


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    rng = np.random.default_rng(19)
    root = tmp_path_factory.mktemp("DHP19")
    made = {
        (1, 1, 1): add_recording(root, rng, 1, 1, 1),
        (1, 1, 2): add_recording(root, rng, 1, 1, 2, v73=True, specials=()),  # no special event
        (1, 2, 1): add_recording(root, rng, 1, 2, 1, specials=tuple(range(0, 700, 100))),  # 7: corrupt
        (13, 5, 7): add_recording(root, rng, 13, 5, 7, specials=(0, 0, 200_000)),  # 3: first, last
        (4, 3, 4): add_recording(root, rng, 4, 3, 4),  # known corrupt: skipped unread
    }
    return root, made


# ---------------------------------------------------------------------- the reference pipeline
def matlab_reference(records, start, stop, f: DHP19Filters):
    """DHP19's extraction, one event at a time: {camera name: [(t - start, x', y', p), ...]}."""
    ev = []
    for a, t in records:
        if a & 0x80000000 or a & 0x400:
            continue
        x, y, p, c = (a >> 12) & 0x3FF, (a >> 22) & 0x1FF, (a >> 11) & 1, a & 0xF
        if start < t < stop and x <= 345 and y <= 259 and c <= 3:
            ev.append((t, (346 - x) + c * 346, 260 - y, p, c))  # MATLAB's X, Y (1-based)
    if f.hot_pixels:
        n = Counter((X, Y) for _, X, Y, _, _ in ev)
        ev = [e for e in ev if n[(e[1], e[2])] < f.hot_pixel_threshold]
    if f.background_activity:
        last = np.zeros((1384 + 1, 260 + 1), dtype=np.int64)
        kept = []
        for e in ev:
            t, X, Y = e[0], e[1], e[2]
            if t - last[X, Y] <= f.background_dt_us:
                kept.append(e)
            if not (X == 1 or X == 1384 or Y == 1 or Y == 260):
                for dX in (-1, 0, 1):
                    for dY in (-1, 0, 1):
                        if (dX, dY) != (0, 0):
                            last[X + dX, Y + dY] = t
        ev = kept
    if f.ir_masks:
        ev = [e for e in ev if not any(x0 < e[1] < x1 and y0 < e[2] < y1 for x0, x1, y0, y1 in f.ir_mask_boxes)]
    out = {name: [] for name in CAMERA_OF_ADDRESS}
    for t, X, Y, p, c in ev:
        out[CAMERA_OF_ADDRESS[c]].append((t - start, X - 1 - 346 * c, Y - 1, p))
    return out


def file_events(rec, name):
    e = rec.events_slice(name, 0, rec.num_events(name))
    return list(zip(e["t"].tolist(), e["x"].tolist(), e["y"].tolist(), e["p"].tolist()))


# ---------------------------------------------------------------------- tests
@pytest.fixture(scope="module")
def converted(tree, tmp_path_factory):
    root, made = tree
    out = tmp_path_factory.mktemp("out")
    manifest = DHP19Converter(filters=FILTERS, chunk_records=333, progress=False).run(root, out)
    return root, made, out, manifest


def test_manifest_lists_converted_skipped_and_failed(converted):
    root, made, out, manifest = converted
    m = load_manifest(out)
    assert m == {"format": "evpose-dataset", "version": 1, **json.loads(json.dumps(manifest))}
    assert m["source"] == "dhp19" and m["parameters"]["filters"] == FILTERS.to_dict()
    got = {(r["subject"], r["session"], r["movement"]): r for r in m["recordings"]}
    assert set(got) == {(1, 1, 1), (1, 1, 2), (13, 5, 7)}
    assert got[(1, 1, 1)]["path"] == "train/S01_session1_mov1.h5" and got[(13, 5, 7)]["split"] == "test"
    assert [p.name for p in split_recordings(out, "test")] == ["S13_session5_mov7.h5"]
    skipped = {(s["subject"], s["session"], s["movement"]): s["reason"] for s in m["skipped"]}
    assert "7 special events" in skipped[(1, 2, 1)]
    assert "corrupt" in skipped[(4, 3, 4)]
    assert "no events file" in skipped[(1, 1, 3)]  # movements absent from a present subject
    assert len(skipped) == 3 * 33 - 5 + 2 and m["failed"] == []
    assert not list(out.rglob("*.partial"))


def test_events_match_dhp19_pipeline_exactly(converted):
    root, made, out, _ = converted
    records, fields = made[(1, 1, 1)]
    with EventRecording(out / "train" / "S01_session1_mov1.h5") as rec:
        a = rec.attrs
        assert (a["source"], a["subject"], a["session"], a["movement"]) == ("dhp19", 1, 1, "1")
        assert a["t_offset_us"] == START and a["movement_stop_us"] == 30 * 10_000
        assert a["alignment_uncertain"] is False and a["num_special_events"] == 2
        assert a["special_events_us"] == [0, 1] and a["aedat_file"] == "DVS_movies/S1/session1/mov1.aedat"
        want = matlab_reference(records, START, START + 300_000, FILTERS)
        for name in CAMERA_OF_ADDRESS:
            assert file_events(rec, name) == want[name], name
        counts = a["event_counts"]
        n_pol = sum(1 for r, _ in records if not r & 0x80000400)
        assert counts["total"] == n_pol
        dropped = sum(counts[k] for k in ("outside_movement", "outside_sensor", "hot_pixel", "background_activity", "ir_mask"))
        assert dropped + sum(counts["written"].values()) == n_pol  # every event accounted for
        assert min(counts[k] for k in ("outside_sensor", "hot_pixel", "background_activity", "ir_mask")) > 0
        assert a["hot_pixels"] == 1


def test_cameras_and_poses(converted):
    root, made, out, _ = converted
    _, fields = made[(1, 1, 1)]
    with EventRecording(out / "train" / "S01_session1_mov1.h5") as rec:
        rec.validate()  # every value of the file checked
        cams = dhp19_cameras()
        assert sorted(rec.camera_names) == ["cam1", "cam2", "cam3", "cam4"]
        for name, cam in cams.items():
            np.testing.assert_allclose(rec.camera(name).P, cam.P, rtol=1e-12)
        t, j, valid = rec.poses()
        assert t.tolist() == [k * 10_000 for k in range(30)]
        want = np.stack([fields[n] for n in JOINT_NAMES], axis=1)
        np.testing.assert_array_equal(j[valid], want[valid].astype(np.float32))
        assert valid.sum() == 30 * 13 - 1 and not valid[3, JOINT_NAMES.index("elbowL")]
        joints, ok = rec.joints_at(70_000)  # Vicon sample 7
        np.testing.assert_allclose(joints[ok], want[7][ok], rtol=1e-6)


def test_converted_folder_feeds_the_window_dataset(converted):
    from evpose.data import EventWindowDataset

    root, made, out, _ = converted
    ds = EventWindowDataset.from_folder(out, "train", cameras=["cam2", "cam3"], num_events=40)
    assert len(ds) > 4
    s = ds[0]
    assert s["camera"].name in ("cam2", "cam3") and len(s["events"]) == 40
    assert s["joints3d"].shape == (13, 3) and s["joints2d"].shape == (13, 2)


def test_no_special_event_is_flagged_and_cut_at_first_and_last_event(converted):
    root, made, out, _ = converted
    records, _ = made[(1, 1, 2)]
    pol_t = [t for a, t in records if not a & 0x80000400]
    with EventRecording(out / "train" / "S01_session1_mov2.h5") as rec:
        a = rec.attrs
        assert a["alignment_uncertain"] is True and "no special event" in a["sync_rule"]
        assert a["t_offset_us"] == pol_t[0] and a["movement_stop_us"] == pol_t[-1] - pol_t[0]
        want = matlab_reference(records, pol_t[0], pol_t[-1], FILTERS)
        for name in CAMERA_OF_ADDRESS:
            assert file_events(rec, name) == want[name]


def test_three_special_events(converted):
    root, made, out, _ = converted
    records, _ = made[(13, 5, 7)]
    with EventRecording(out / "test" / "S13_session5_mov7.h5") as rec:
        assert rec.attrs["t_offset_us"] == START and rec.attrs["movement_stop_us"] == 200_000  # first .. last special
        assert rec.attrs["sync_rule"] == "3 special events: first = start, last = stop"
        want = matlab_reference(records, START, START + 200_000, FILTERS)
        for name in CAMERA_OF_ADDRESS:
            assert file_events(rec, name) == want[name]


def test_resume_keeps_finished_files_and_refuses_other_filters(converted):
    root, made, out, manifest = converted
    f = out / "train" / "S01_session1_mov1.h5"
    before = f.stat().st_mtime_ns
    stale = out / "train" / "S01_session1_mov2.h5.partial"
    stale.write_bytes(b"left by an interrupted run")
    again = DHP19Converter(filters=FILTERS, progress=False).run(root, out)
    assert f.stat().st_mtime_ns == before and not stale.exists()
    assert again["recordings"] == manifest["recordings"]
    with pytest.raises(ValueError, match="converted with filters"):
        DHP19Converter(filters=DHP19Filters.none(), progress=False).run(root, out)
    # new splits move the files instead of converting them again
    moved = DHP19Converter(filters=FILTERS, progress=False, train_subjects=[4], val_subjects=[1]).run(root, out)
    assert (out / "val" / "S01_session1_mov1.h5").stat().st_mtime_ns == before and not f.exists()
    assert {r["split"] for r in moved["recordings"] if r["subject"] == 1} == {"val"}
    DHP19Converter(filters=FILTERS, progress=False).run(root, out)  # and back
    assert f.stat().st_mtime_ns == before


def test_geometry_flips_and_camera_mapping(tmp_path):
    """An event raised by a 3D point lands where the file's camera projects that point."""
    cams = dhp19_cameras()
    point = np.array([120.0, -80.0, 1300.0])  # mm, in front of all four cameras
    records = [(0x400, 1_000_000), (0x400, 1_000_000)]
    pixels = {}
    for c, name in enumerate(CAMERA_OF_ADDRESS):
        u, v = np.rint(cams[name].project(point[None])[0]).astype(int)  # evpose pixel (column, row)
        assert 0 <= u < 346 and 0 <= v < 260
        pixels[name] = (u, v)
        records.append((addr(345 - u, 259 - v, 1, c), 1_000_100 + c))  # the raw, flipped address
    write_aedat(tmp_path / "mov1.aedat", records + [(addr(0, 0, 0, 0), 1_500_000)])
    write_vicon(tmp_path / "S1_1_1.mat", vicon_fields(np.random.default_rng(0), 10))
    convert_recording(tmp_path / "mov1.aedat", tmp_path / "S1_1_1.mat", tmp_path / "out.h5", 1, 1, 1,
                      filters=DHP19Filters.none())
    with EventRecording(tmp_path / "out.h5") as rec:
        for c, name in enumerate(CAMERA_OF_ADDRESS):
            e = rec.events_slice(name, 0, rec.num_events(name))
            assert (int(e["x"][0]), int(e["y"][0])) == pixels[name] and e["t"].tolist() == [100 + c]
            u, v = rec.camera(name).project(point[None])[0]
            assert abs(u - e["x"][0]) <= 0.5 and abs(v - e["y"][0]) <= 0.5


def test_timestamp_wrap_is_cut_like_dhp19(tmp_path):
    w = 1 << 32
    records = [(addr(5, 5, 1, 0), w - 400_000), (0x400, w - 300_000), (0x400, w - 300_000)]
    records += [(addr(6, 6, 0, 1), w - 300_000 + 10 * k) for k in range(1, 50)]
    records += [(addr(7, 7, 1, 2), w + 100 * k) for k in range(20)]  # after the wrap
    write_aedat(tmp_path / "mov1.aedat", records)
    write_vicon(tmp_path / "S14_1_1.mat", vicon_fields(np.random.default_rng(0), 100))
    convert_recording(tmp_path / "mov1.aedat", tmp_path / "S14_1_1.mat", tmp_path / "out.h5", 14, 1, 1,
                      filters=DHP19Filters.none())
    with EventRecording(tmp_path / "out.h5") as rec:
        a = rec.attrs
        assert a["timestamp_wrapped"] is True and a["t_offset_us"] == w - 300_000
        assert a["movement_stop_us"] == 490  # the last event before the wrap
        assert rec.num_events("cam1") == 48 and rec.num_events("cam3") == 0  # strictly between


def test_truncated_aedat_fails_alone_with_byte_offset(tmp_path):
    rng = np.random.default_rng(5)
    root = tmp_path / "DHP19"
    add_recording(root, rng, 2, 1, 1)
    records, _ = add_recording(root, rng, 2, 1, 2, n=300)
    bad = root / "DVS_movies" / "S2" / "session1" / "mov2.aedat"
    write_aedat(bad, records, tail=b"\x01\x02\x03\x04\x05")
    out = tmp_path / "out"
    m = DHP19Converter(filters=FILTERS, sessions=[1], movements=[1, 2], progress=False).run(root, out)
    assert [r["movement"] for r in m["recordings"]] == [1]
    (failed,) = m["failed"]
    offset = len(HEADER) + 8 * len(records)
    assert failed["movement"] == 2 and f"byte offset {offset}" in failed["error"]
    assert not (out / "train" / "S02_session1_mov2.h5").exists()


def test_command_line(tree, tmp_path):
    root, _ = tree
    out = tmp_path / "cli_out"
    env = {k: v for k, v in os.environ.items() if k != "EVPOSE_ROOT"}
    cmd = [sys.executable, "-m", "evpose.cli.convert_dhp19", f"root={root}", f"out={out}",
           "converter.subjects=[13]", "converter.progress=false", "converter.filters.background_activity=false",
           f"hydra.run.dir={tmp_path / 'run'}"]
    r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    m = load_manifest(out)
    assert [x["path"] for x in m["recordings"]] == ["test/S13_session5_mov7.h5"]
    assert m["parameters"]["filters"]["background_activity"] is False
    not_dhp19 = [sys.executable, "-m", "evpose.cli.convert_dhp19", f"root={tmp_path}", f"out={tmp_path / 'o2'}",
                 f"hydra.run.dir={tmp_path / 'run2'}"]
    bad = subprocess.run(not_dhp19, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "not a DHP19 folder" in bad.stderr + bad.stdout


def test_writer_chunk_cache_bounds_memory(tmp_path):
    """EventFileWriter opens files with a 1 MiB chunk cache per dataset (h5py's build here
    defaults to 8 MiB, which held ~200 MB for the 24 datasets of a long 4-camera recording)."""
    from evpose.io import EventFileWriter

    with EventFileWriter(tmp_path / "a.h5") as w:
        assert w._file.id.get_access_plist().get_cache()[2] == 1 << 20
    with EventFileWriter(tmp_path / "b.h5", chunk_cache_bytes=4096) as w:
        assert w._file.id.get_access_plist().get_cache()[2] == 4096


def test_runs_into_one_folder_add_up(tree, tmp_path):
    """movements=[1], then movements=[2]: the manifest lists both (it used to forget mov1)."""
    root, _ = tree
    out = tmp_path / "out"
    conv = dict(filters=FILTERS, progress=False, subjects=[1], sessions=[1])
    first = DHP19Converter(movements=[1], **conv).run(root, out)
    assert [r["path"] for r in first["recordings"]] == ["train/S01_session1_mov1.h5"]
    second = DHP19Converter(movements=[2], **conv).run(root, out)
    m = load_manifest(out)
    assert [r["path"] for r in m["recordings"]] == ["train/S01_session1_mov1.h5", "train/S01_session1_mov2.h5"]
    assert m["recordings"] == json.loads(json.dumps(second["recordings"]))
    assert m["recordings"][0] == first["recordings"][0]  # the earlier entry, unchanged
    assert [p.name for p in split_recordings(out, "train")] == ["S01_session1_mov1.h5", "S01_session1_mov2.h5"]
    # the same movement again replaces its entry instead of listing it twice
    DHP19Converter(movements=[2], **conv).run(root, out)
    assert len(load_manifest(out)["recordings"]) == 2
    # another split for subject 1 moves the earlier recording too
    moved = DHP19Converter(movements=[2], train_subjects=[4], val_subjects=[1], **conv).run(root, out)
    assert [(r["path"], r["split"]) for r in moved["recordings"]] == [
        ("val/S01_session1_mov1.h5", "val"), ("val/S01_session1_mov2.h5", "val")]
    assert (out / "val" / "S01_session1_mov1.h5").is_file() and not (out / "train" / "S01_session1_mov1.h5").exists()
    # recordings of other filters are not mixed into the folder
    with pytest.raises(ValueError, match=r"holds recordings converted with filters .* \(e\.g\. val/S01_session1_mov1\.h5\)"):
        DHP19Converter(filters=DHP19Filters.none(), progress=False, subjects=[13]).run(root, out)
