"""The on-disk graph cache: the same graphs as building them, built once, invalidated when
the recording or the transform changes, safe to read."""

from __future__ import annotations

import os

import pytest
import torch
from torch.utils.data import Subset

from evpose.data import EventDataModule, EventWindowDataset, PoseGraphTransform, split_recordings
from evpose.data.graph_cache import CachedGraphDataset, cache_key, fingerprint
from evpose.graph import EventGraphTransform


class Counting:
    """A transform that counts its calls (to see what the cache saves)."""

    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def __call__(self, sample):
        self.calls += 1
        return self.inner(sample)


def assert_same_graph(a, b):
    assert sorted(a.keys()) == sorted(b.keys())
    for k in a.keys():
        va, vb = a[k], b[k]
        if isinstance(va, torch.Tensor):
            assert va.dtype == vb.dtype and torch.equal(va, vb), k
        else:
            assert va == vb, k


@pytest.fixture
def windows(tiny_dataset):
    return EventWindowDataset(split_recordings(tiny_dataset, "train"), num_events=3000, history_us=20_000)


def pose_transform(**kw):
    return PoseGraphTransform(EventGraphTransform(r=6.0, max_num_neighbors=12, max_nodes=300, **kw), num_parts=10)


def test_cached_graphs_equal_the_built_ones_and_are_built_once(windows, tmp_path):
    tr = Counting(pose_transform())
    cached = CachedGraphDataset(windows, tr, tmp_path / "c")
    picks = [0, 3, len(windows) - 1]
    first = [cached[i] for i in picks]
    assert tr.calls == 3 and len(list((tmp_path / "c").glob("*.pt"))) == 3
    again = [cached[i] for i in picks]
    assert tr.calls == 3  # read back, not rebuilt
    for i, a, b in zip(picks, first, again):
        assert_same_graph(a, b)
        assert_same_graph(b, pose_transform()(windows.raw_sample(i)))
    # a subset (a window cap) reads the full dataset's files
    sub = CachedGraphDataset(Subset(windows, [3, 0]), tr, tmp_path / "c")
    assert len(sub) == 2
    assert_same_graph(sub[0], first[1])
    assert tr.calls == 3


def test_a_changed_recording_or_a_damaged_entry_is_rebuilt(windows, tmp_path):
    tr = Counting(pose_transform())
    cached = CachedGraphDataset(windows, tr, tmp_path / "c")
    cached[0]
    path = cached.file_of(0)
    path.write_bytes(b"not a torch file")
    assert_same_graph(cached[0], pose_transform()(windows.raw_sample(0)))
    assert tr.calls == 2
    rec = windows.paths[windows.windows[0][0]]
    st = os.stat(rec)
    os.utime(rec, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the recording changed
    again = CachedGraphDataset(windows, tr, tmp_path / "c")
    assert again.file_of(0) != path
    again[0]
    assert tr.calls == 3


def test_skipped_windows_are_remembered(windows, tmp_path):
    calls = []

    def refuse(sample):
        calls.append(1)
        return None

    cached = CachedGraphDataset(windows, refuse, tmp_path / "c")
    assert cached[1] is None and cached[1] is None
    assert len(calls) == 1


def test_cache_files_hold_no_code(windows, tmp_path):
    cached = CachedGraphDataset(windows, pose_transform(), tmp_path / "c")
    cached[0]
    stored = torch.load(cached.file_of(0), weights_only=True)  # plain tensors, strings and numbers only
    assert "x" in stored and "edge_index" in stored


def test_the_key_follows_the_transform_configuration():
    a = cache_key(pose_transform(), {"num_events": 3000})
    assert a == cache_key(pose_transform(), {"num_events": 3000})
    assert a != cache_key(pose_transform(tore_k=2), {"num_events": 3000})
    assert a != cache_key(pose_transform(), {"num_events": 7500})
    with pytest.raises(TypeError, match="cannot fingerprint"):
        fingerprint(lambda s: s)


def test_datamodule_cache_gives_the_same_batches(tiny_dataset, tmp_path):
    kw = dict(num_events=3000, history_us=20_000, min_events=1, batch_size=3, max_train_windows=6, seed=0)
    plain = EventDataModule(tiny_dataset, pose_transform(), **kw)
    cached = EventDataModule(tiny_dataset, pose_transform(), cache=tmp_path / "cache", **kw)
    for split in ("train", "val"):
        a, b = plain.dataset(split), cached.dataset(split)
        assert isinstance(b, CachedGraphDataset) and len(a) == len(b)
        for i in range(len(a)):
            assert_same_graph(a[i], b[i])
    assert any((tmp_path / "cache").rglob("*.pt"))
    default = EventDataModule(tiny_dataset, pose_transform(), cache=True, **kw)
    assert default.cache_dir == tiny_dataset / ".cache" / "graphs"


@pytest.mark.parametrize("workers", [0, 2])
def test_fill_builds_every_missing_graph_once(windows, tmp_path, workers):
    cached = CachedGraphDataset(Subset(windows, [0, 2, 4]), pose_transform(), tmp_path / "c")
    cached[1]  # window 2 already there
    assert cached.missing() == [0, 2]
    assert cached.fill(workers) == 2
    assert cached.missing() == [] and cached.fill(workers) == 0
    assert_same_graph(cached[2], pose_transform()(windows.raw_sample(4)))


def test_entries_are_stored_compactly_and_kept_in_memory_when_asked(windows, tmp_path):
    tr = Counting(pose_transform())
    cached = CachedGraphDataset(windows, tr, tmp_path / "c", in_memory=True)
    built = cached[2]
    stored = torch.load(cached.file_of(2), weights_only=True)
    assert stored["edge_index"].dtype == torch.int32  # half the bytes on disk
    assert built.edge_index.dtype == torch.int64  # what PyG expects, as built
    assert_same_graph(built, pose_transform()(windows.raw_sample(2)))
    cached.file_of(2).unlink()  # later reads come from memory, not from disk
    assert_same_graph(cached[2], built)
    assert tr.calls == 1 and not cached.file_of(2).exists()
    # without in_memory the next read goes to disk (and rebuilds the deleted entry)
    plain = CachedGraphDataset(windows, tr, tmp_path / "c")
    assert_same_graph(plain[2], built)
    assert tr.calls == 2

