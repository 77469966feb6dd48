"""Dataset folders are closed (issue 15): manifest paths stay inside the root, symbolic
links included; a recording is listed once; a folder without a dataset says how to make one."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from evpose.data import EventDataModule, EventWindowDataset
from evpose.io import DatasetError, NoDatasetError, load_manifest, split_recordings, write_manifest, write_recording
from tests.helpers import random_events


@pytest.fixture
def folder(tmp_path, dhp19_cams):
    """A dataset folder with two recordings, and a recording outside it."""
    root = tmp_path / "ds"
    rng = np.random.default_rng(2)
    for rel in ("train/a.h5", "test/b.h5"):
        write_recording(root / rel, {"cam2": (dhp19_cams["cam2"], random_events(rng, 500, labels=False))})
    write_recording(tmp_path / "elsewhere" / "c.h5", {"cam2": (dhp19_cams["cam2"], random_events(rng, 500, labels=False))})
    write_manifest(root, {"source": "test", "recordings": [
        {"path": "train/a.h5", "split": "train"}, {"path": "test/b.h5", "split": "test"}]})
    return root


def _set_paths(root, entries):
    m = json.loads((root / "manifest.json").read_text())
    m["recordings"] = [{"path": p, "split": s} for p, s in entries]
    (root / "manifest.json").write_text(json.dumps(m))


def test_good_folder(folder):
    assert split_recordings(folder, "train") == [folder / "train" / "a.h5"]
    assert split_recordings(folder, None) == [folder / "train" / "a.h5", folder / "test" / "b.h5"]


@pytest.mark.parametrize("bad", ["ABS", "../elsewhere/c.h5", "train/../../elsewhere/c.h5"])
def test_paths_leaving_the_folder_are_refused(folder, bad):
    bad = str(folder.parent / "elsewhere" / "c.h5") if bad == "ABS" else bad
    _set_paths(folder, [("train/a.h5", "train"), (bad, "test")])
    what = "an absolute path" if os.path.isabs(bad) else "outside the dataset folder"
    with pytest.raises(DatasetError, match=rf"manifest\.json: recordings\[1\]\.path is '{bad}': .*{what}"):
        load_manifest(folder)
    for read in (lambda: split_recordings(folder, "test"), lambda: EventWindowDataset.from_folder(folder, "test", labels=False)):
        with pytest.raises(DatasetError, match=r"recordings\[1\]\.path"):
            read()


def test_symbolic_links_are_followed_before_the_check(folder):
    (folder / "test" / "link_out.h5").symlink_to(folder.parent / "elsewhere" / "c.h5")
    (folder / "test" / "link_in.h5").symlink_to(folder / "train" / "a.h5")
    (folder / "sub").symlink_to(folder.parent / "elsewhere", target_is_directory=True)
    for rel in ("test/link_out.h5", "sub/c.h5"):
        _set_paths(folder, [("train/a.h5", "train"), (rel, "test")])
        with pytest.raises(DatasetError, match=rf"recordings\[1\]\.path is '{rel}': it resolves to .*c\.h5 \(through a symbolic link\), outside"):
            load_manifest(folder)
    # a link that stays inside is fine, but it is the same recording as train/a.h5
    _set_paths(folder, [("test/link_in.h5", "test")])
    assert split_recordings(folder, "test") == [folder / "test" / "link_in.h5"]
    _set_paths(folder, [("train/a.h5", "train"), ("test/b.h5", "test"), ("test/link_in.h5", "test")])
    with pytest.raises(DatasetError, match=r"recordings\[0\] \('train/a\.h5'\) and recordings\[2\] \('test/link_in\.h5'\) are the same recording"):
        load_manifest(folder)


@pytest.mark.parametrize("second", ["train/a.h5", "./train/a.h5", "train//a.h5", "test/../train/a.h5"])
def test_a_recording_listed_twice_is_refused(folder, second):
    _set_paths(folder, [("train/a.h5", "train"), ("test/b.h5", "test"), (second, "val")])
    with pytest.raises(DatasetError, match=rf"recordings\[0\] \('train/a\.h5'\) and recordings\[2\] \('{second}'\) are the same recording"):
        load_manifest(folder)


def test_malformed_entries(folder):
    for entries, msg in (([{"split": "train"}], r"recordings\[0\] lacks 'path'"),
                         ([{"path": 3, "split": "train"}], r"recordings\[0\]\.path is 3"),
                         (["train/a.h5"], r"recordings\[0\] is a str"),
                         ([{"path": "train/a.h5", "split": "dev"}], r"split is 'dev'")):
        m = json.loads((folder / "manifest.json").read_text())
        m["recordings"] = entries
        (folder / "manifest.json").write_text(json.dumps(m))
        with pytest.raises(DatasetError, match=msg):
            load_manifest(folder)


def test_empty_folder_is_an_error_that_says_how_to_make_data(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NoDatasetError, match=r"empty: no evpose dataset here \(the folder is empty\); .*evpose-synth.*evpose-convert-dhp19"):
        load_manifest(empty)
    assert issubclass(NoDatasetError, FileNotFoundError)
    dm = EventDataModule(empty, transform=lambda s: s)
    with pytest.raises(NoDatasetError, match="evpose-synth"):
        dm.prepare_data()
    assert list(empty.iterdir()) == []  # nothing was generated there
    with pytest.raises(NoDatasetError, match=r"the folder does not exist"):
        load_manifest(tmp_path / "nowhere")
