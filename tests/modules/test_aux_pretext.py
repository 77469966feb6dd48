"""evpose-finetune aux_pretext=[...]: pretext losses on the unlabelled training recordings beside the pose losses."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from evpose.cli.finetune import run as finetune
from evpose.data import EventDataModule, PoseGraphTransform
from evpose.errors import ConfigError
from evpose.estimator import load_estimator
from evpose.io import EventRecording
from evpose.modules import TaskModule
from evpose.pretext import PretextTransform

STEPS = ["trainer.max_epochs=-1", "trainer.max_steps=3", "trainer.check_val_every_n_epoch=null",
         "trainer.val_check_interval=3"]


def test_aux_pretext_reaches_the_module_and_the_checkpoint_predicts(compose_cfg, tiny_dataset, pretrained_ckpt):
    cfg = compose_cfg("finetune", [*STEPS, "data.label_fraction=0.5", "aux_pretext=[count,future]",
                                   f"pretrained={pretrained_ckpt}", "+trainer.enable_progress_bar=false"])
    res = finetune(cfg)
    module = TaskModule.load_from_checkpoint(res["last"], kind="finetune")
    assert list(module.tasks) == ["joints2d", "joints3d", "parts", "count", "future"]
    assert module.pretext_batch and module.hparams.pretext_batch
    assert module.hparams.config["aux_pretext"] == ["count", "future"]
    rows = list(csv.DictReader(open(Path(res["run_dir"]) / "csv" / "metrics.csv")))
    logged = {k for r in rows for k, v in r.items() if v not in ("", None)}
    for key in ("train/loss_joints2d_step", "train/count/loss_step", "train/future/loss_step", "val/mpjpe2d"):
        assert key in logged, sorted(logged)
    assert not any(k.startswith("val/count") or k.startswith("val/future") for k in logged)
    est = load_estimator(res["last"])
    assert sorted(est.net.heads) == ["joints2d", "joints3d", "parts"]
    rec = next((tiny_dataset / "test").glob("*.h5"))
    with EventRecording(rec) as r:
        out = est.predict(r.events_slice("cam2", 0, 3000), r.camera("cam2"))
    assert out["joints2d"].shape == (13, 2) and np.isfinite(out["joints2d"]).all()


def _datamodule(compose_cfg, fraction: float):
    from hydra.utils import instantiate

    cfg = compose_cfg("finetune", [f"data.label_fraction={fraction}", "data.cache=false", "data.cache_workers=0"])
    from evpose.modules.build import build

    graph = instantiate(cfg.graph)
    tasks = {n: build(dict(cfg.pretext_tasks[n])) for n in ("count", "future")}
    aux = PretextTransform(graph, tasks, num_parts=cfg.model.num_parts)
    dm = instantiate(cfg.data, transform=PoseGraphTransform(graph, cfg.model.num_parts), labels=True)
    dm.unlabelled_transform, dm.unlabelled_follow_batch = aux, aux.query_keys
    dm.setup("fit")
    return dm


def test_the_pretext_batch_holds_only_unlabelled_recordings(compose_cfg):
    dm = _datamodule(compose_cfg, 0.5)
    labelled = {str(p) for p in dm.recordings("train")}
    unlabelled = {str(p) for p in dm.unlabelled_recordings()}
    assert labelled and unlabelled and not labelled & unlabelled
    loader = dm.train_dataloader()
    seen_pose, seen_pretext, steps, full = set(), set(), 0, 0
    for epoch in range(3):
        for batch, _, _ in loader:
            steps += 1
            assert set(batch) == {"pose", "pretext"}
            seen_pose |= set(batch["pose"].recording)
            seen_pretext |= set(batch["pretext"].recording)
            # batch_size windows (the last batch of a pass over them may be smaller)
            assert batch["pretext"].num_graphs + int(batch["pretext"].num_skipped) <= dm.batch_size
            full += batch["pretext"].num_graphs + int(batch["pretext"].num_skipped) == min(
                dm.batch_size, len(dm.unlabelled_dataset()))
            assert not hasattr(batch["pretext"], "joints2d")  # no labels
            assert hasattr(batch["pretext"], "box_num_removed") and hasattr(batch["pretext"], "future_query_nbr")
    assert seen_pose <= labelled and seen_pretext <= unlabelled and seen_pretext and full
    assert loader.iterables["pretext"].passes >= 1  # the unlabelled windows ran on across the epochs
    assert steps == 3 * len(dm._loader("train", shuffle=True))  # an epoch is one pass over the labelled windows


def test_all_labels_gives_the_pretext_batch_every_training_recording(compose_cfg):
    dm = _datamodule(compose_cfg, 1.0)
    assert dm.unlabelled_recordings() == dm.recordings("train")


@pytest.mark.parametrize("names, match", [("[nope]", "unknown aux_pretext task.*'nope'.*valid: count"),
                                          ("[joints2d]", "unknown aux_pretext task.*'joints2d'"),
                                          ("[count,count]", "listed twice"),
                                          ("count", "must be a list")])
def test_bad_aux_pretext_names_are_refused(compose_cfg, names, match):
    with pytest.raises(ConfigError, match=match):
        finetune(compose_cfg("finetune", [*STEPS, f"aux_pretext={names}"]))


def test_a_module_without_pretext_batch_refuses_split_batches_and_needs_both_kinds(compose_cfg):
    cfg = compose_cfg("finetune")
    from evpose.cli.finetune import selected_pose_tasks

    from hydra.utils import instantiate

    spec = PoseGraphTransform(instantiate(cfg.graph), cfg.model.num_parts).input_spec
    args = dict(backbone=cfg.model.backbone, input_spec=spec, optimizer=cfg.optimizer)
    with pytest.raises(ValueError, match="needs pose and pretext tasks"):
        TaskModule(tasks=selected_pose_tasks(cfg), pretext_batch=True, **args)
    plain = TaskModule(tasks=selected_pose_tasks(cfg), **args)
    assert "pretext_batch" not in plain.hparams  # a plain fine-tuning's hyperparameters are today's
    with pytest.raises(TypeError, match="pretext_batch=True"):
        plain.task_batches({"pose": None, "pretext": None}, "train")
