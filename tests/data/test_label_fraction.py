"""The labelled recordings of a label fraction: their number, nesting over fractions, and
their dependence on the seed (so the spread over seeds includes the choice of labels)."""

from __future__ import annotations

import pytest

from evpose.data import EventDataModule, write_manifest
from evpose.data.label_fraction import label_subset, label_subset_size


def test_sizes_round_half_up_and_keep_at_least_one():
    # 42 recordings (the demo's training split): 2.1 -> 2, 4.2 -> 4, 10.5 -> 11, 21, 42
    assert [label_subset_size(42, f) for f in (0.05, 0.1, 0.25, 0.5, 1.0)] == [2, 4, 11, 21, 42]
    assert label_subset_size(3, 0.01) == 1 and label_subset_size(1, 0.5) == 1
    with pytest.raises(ValueError, match="label_fraction must be in"):
        label_subset_size(10, 0.0)
    with pytest.raises(ValueError, match="no recordings"):
        label_subset_size(0, 0.5)


def test_subsets_are_nested_over_fractions_for_one_seed():
    for seed in range(5):
        subsets = [set(label_subset(42, f, seed)) for f in (0.05, 0.1, 0.25, 0.5, 1.0)]
        assert [len(s) for s in subsets] == [2, 4, 11, 21, 42]
        assert all(a < b for a, b in zip(subsets, subsets[1:]))
    assert label_subset(42, 1.0, 7) == list(range(42))


def test_the_seed_changes_the_subset_and_fixes_it():
    picks = {tuple(label_subset(42, 0.1, s)) for s in range(10)}
    assert len(picks) == 10  # ten seeds, ten different sets of 4 of 42 (1 in 111930 chance each pair)
    assert label_subset(42, 0.1, 3) == label_subset(42, 0.1, 3)
    assert all(list(p) == sorted(p) for p in picks)


def _manifest_with(tmp_path, n_train):
    recs = [{"path": f"train/S{i:02d}.h5", "split": "train"} for i in range(n_train)]
    recs += [{"path": "val/V.h5", "split": "val"}, {"path": "test/T.h5", "split": "test"}]
    write_manifest(tmp_path, {"recordings": recs})
    return tmp_path


def test_the_datamodule_trains_on_the_seeded_subset(tmp_path):
    root = _manifest_with(tmp_path, 20)

    def names(fraction, seed, split="train"):
        dm = EventDataModule(root, transform=None, label_fraction=fraction, seed=seed, min_events=1, history_us=0)
        return [p.name for p in dm.recordings(split)]

    expect = [f"S{i:02d}.h5" for i in label_subset(20, 0.25, 1)]
    assert names(0.25, 1) == expect and len(expect) == 5
    assert names(0.25, 2) != expect  # another seed, other labelled recordings
    assert set(names(0.1, 1)) < set(expect)  # nested
    assert names(1.0, 1) == names(1.0, 2) == [f"S{i:02d}.h5" for i in range(20)]
    assert names(0.1, 1, "val") == names(0.1, 2, "val") == ["V.h5"]  # only the training split is cut
