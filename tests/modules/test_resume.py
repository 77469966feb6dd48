"""Exact resume (issue 15): a run resumed from any checkpoint it wrote, at an epoch's end or
in the middle of an epoch, ends with the same weights, bit for bit, as the run that was
never interrupted (CPU, no data workers)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from evpose.cli.finetune import run as finetune
from evpose.cli.pretrain import run as pretrain

# 12 training windows in batches of 4: 3 steps per epoch, 2 epochs
EXACT = ["data.max_train_windows=12", "trainer.max_epochs=2", "trainer.log_every_n_steps=1"]


def _keep_every_checkpoint(folder: Path) -> list[str]:
    """Extra checkpoint callbacks: one file per optimisation step and one per epoch end."""
    return [
        "+callbacks.steps._target_=lightning.pytorch.callbacks.ModelCheckpoint",
        f"+callbacks.steps.dirpath={folder}",
        "+callbacks.steps.filename='step{step}'",
        "+callbacks.steps.every_n_train_steps=1",
        "+callbacks.steps.auto_insert_metric_name=false",
        "+callbacks.steps.save_top_k=-1",
        "+callbacks.epochs._target_=lightning.pytorch.callbacks.ModelCheckpoint",
        f"+callbacks.epochs.dirpath={folder}",
        "+callbacks.epochs.filename='epoch{epoch}'",
        "+callbacks.epochs.save_top_k=-1",
        "+callbacks.epochs.auto_insert_metric_name=false",
    ]


def _weights(path) -> dict[str, torch.Tensor]:
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    return {**ckpt["state_dict"], **{f"opt.{i}.{k}": v for i, s in ckpt["optimizer_states"][0]["state"].items()
                                     for k, v in s.items()}}


def _assert_same(a, b, what):
    assert a.keys() == b.keys()
    diff = {k: (a[k] - b[k]).abs().max().item() for k in a if not torch.equal(a[k], b[k])}
    assert not diff, f"{what}: {len(diff)} of {len(a)} tensors differ, e.g. {next(iter(diff.items()))}"


@pytest.mark.slow
@pytest.mark.parametrize("command, starts", [
    ("pretrain", ("epoch0", "step1", "step4")),  # end of epoch 0, inside epoch 0, inside epoch 1
    ("finetune", ("epoch0",)),  # (fine-tuning draws nothing at random but the order: the epoch end suffices)
])
def test_resume_from_any_checkpoint_is_exact(command, starts, compose_cfg, tmp_path):
    run = pretrain if command == "pretrain" else finetune
    extra = ["pretrained=none"] if command == "finetune" else []
    keep = tmp_path / "every"
    full = run(compose_cfg(command, [*EXACT, *extra, *_keep_every_checkpoint(keep),
                                     f"paths.output_dir={tmp_path / 'full'}"]))
    want = _weights(full["last"])
    saved = {p.stem for p in keep.glob("*.ckpt")}
    assert {"epoch0", "epoch1", "step1", "step4"} <= saved, saved
    # the run is not trivially repeatable without the restored state: the two epochs differ
    first = _weights(keep / "epoch0.ckpt")
    moment = next(k for k in want if k.endswith(".exp_avg"))  # (parameters without gradients have no state)
    assert not torch.equal(first[moment], want[moment])
    for start in starts:
        resumed = run(compose_cfg(command, [*EXACT, *extra, f"ckpt_path={keep / (start + '.ckpt')}",
                                            f"paths.output_dir={tmp_path / ('from_' + start)}"]))
        assert torch.load(resumed["last"], weights_only=True)["global_step"] == 6
        _assert_same(_weights(resumed["last"]), want, f"{command} resumed from {start}")


def test_a_run_resumed_in_its_own_folder_keeps_the_metrics_logged_before(compose_cfg, tmp_path):
    """Lightning's CSV logger deletes an existing metrics.csv when a run opens it: the rows
    logged before the resumed step are kept, the later ones logged once, by the resumed run."""
    import csv

    keep, out = tmp_path / "every", tmp_path / "run"
    pretrain(compose_cfg("pretrain", [*EXACT, *_keep_every_checkpoint(keep), f"paths.output_dir={out}"]))
    path = out / "csv" / "metrics.csv"

    def rows():
        with open(path, newline="") as f:
            return list(csv.DictReader(f))

    full = rows()
    before = [r for r in full if int(r["step"]) < 4]
    assert before and any(int(r["step"]) >= 4 for r in full)
    pretrain(compose_cfg("pretrain", [*EXACT, f"ckpt_path={keep / 'step4.ckpt'}", f"paths.output_dir={out}"]))
    after = rows()
    assert after[: len(before)] == before  # the first part's rows, as they were
    step_rows = [int(r["step"]) for r in after if r.get("train/loss_step")]
    assert step_rows == sorted(set(step_rows)) and step_rows[-1] == 5  # every step once, to the last
    assert {int(r["step"]) for r in after} >= {int(r["step"]) for r in full}
