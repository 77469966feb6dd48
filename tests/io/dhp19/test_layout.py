"""The DHP19 folder tree: walking it, names, splits and the camera mapping."""

from __future__ import annotations

import pytest

from evpose.io.dhp19.layout import CAMERA_OF_ADDRESS, SESSION_MOVEMENTS, recording_name, split_of, walk_dhp19


def touch(p):
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"")


def test_camera_mapping_is_dhp19s_channel_order():
    # DHP19: preprocessed channel c comes from address camera c; channels 0..3 use P4, P1, P3, P2
    assert CAMERA_OF_ADDRESS == ("cam4", "cam1", "cam3", "cam2")


def test_sessions_and_names():
    assert sum(SESSION_MOVEMENTS.values()) == 33
    assert recording_name(3, 2, 5) == "S03_session2_mov5"


def test_splits():
    assert split_of(1) == split_of(12) == "train" and split_of(13) == split_of(17) == "test"
    assert split_of(5, train=[1], test=[2], val=[5]) == "val"
    with pytest.raises(ValueError, match="subject 18 is in no split"):
        split_of(18)


def test_walk(tmp_path):
    for s, sess, m in [(2, 1, 1), (2, 1, 8), (2, 5, 7), (10, 2, 3)]:
        touch(tmp_path / "DVS_movies" / f"S{s}" / f"session{sess}" / f"mov{m}.aedat")
        if (s, sess, m) != (10, 2, 3):
            touch(tmp_path / "Vicon_data" / f"S{s}_{sess}_{m}.mat")
    found, missing = walk_dhp19(tmp_path)
    assert [r.key for r in found] == [(2, 1, 1), (2, 1, 8), (2, 5, 7)]
    assert found[0].aedat == tmp_path / "DVS_movies/S2/session1/mov1.aedat"
    assert found[0].vicon == tmp_path / "Vicon_data/S2_1_1.mat" and found[0].name == "S02_session1_mov1"
    assert len(missing) == 2 * 33 - 3
    assert any(m["reason"].startswith("no Vicon file") and m["subject"] == 10 for m in missing)
    found, missing = walk_dhp19(tmp_path, subjects=[2, 3], sessions=[1], movements=[1, 2])
    assert [r.key for r in found] == [(2, 1, 1)]
    assert {(m["subject"], m["movement"]) for m in missing} == {(2, 2), (3, None)}
    with pytest.raises(FileNotFoundError, match="not a DHP19 folder"):
        walk_dhp19(tmp_path / "DVS_movies")
