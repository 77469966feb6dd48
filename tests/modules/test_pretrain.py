"""Pretraining (TaskModule on the pretext tasks) and evpose-pretrain on the real configs and a tiny synthetic dataset."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from evpose.cli.pretrain import run, selected_tasks
from evpose.data.loader import SkippingCollater
from evpose.modules import TaskModule
from evpose.pretext import PretextTransform


def test_short_fit_lowers_every_task_loss(compose_cfg):
    cfg = compose_cfg("pretrain")
    specs = selected_tasks(cfg)
    tasks = {n: instantiate(s) for n, s in specs.items()}
    tf = PretextTransform(instantiate(cfg.graph), tasks, seed=0)
    dm = instantiate(cfg.data, transform=tf, follow_batch=tf.query_keys)
    ds = dm.dataset("train")
    batch = SkippingCollater(tf.query_keys)([ds[i] for i in range(4)])
    torch.manual_seed(0)
    module = TaskModule(cfg.model.backbone, tf.input_spec, specs, cfg.optimizer)
    opt = torch.optim.AdamW(module.parameters(), lr=3e-3)
    first = None
    for _ in range(80):
        losses = {k: v for k, (_, v) in module.losses(module(batch), batch).items()}
        first = first or {k: v.item() for k, v in losses.items()}
        opt.zero_grad()
        sum(losses.values()).backward()
        opt.step()
    last = {k: v.item() for k, (_, v) in module.losses(module(batch), batch).items()}
    assert set(last) == {"inpaint/loss", "count/loss", "refill/loss", "future/loss"}
    for k in last:
        assert last[k] < 0.9 * first[k], f"{k}: {first[k]:.3f} -> {last[k]:.3f}"


def test_pretrain_run_checkpoints_and_resume_continues(compose_cfg, tmp_path):
    cfg = compose_cfg("pretrain")
    out = run(cfg)
    ckpt = torch.load(out["last"], map_location="cpu", weights_only=False)
    steps = ckpt["global_step"]
    assert steps == 2  # 8 windows, batches of 4, one epoch
    assert ckpt["evpose"]["kind"] == "pretrain"
    assert ckpt["hyper_parameters"]["tasks"].keys() == {"inpaint", "count", "refill", "future"}
    assert (tmp_path / "run" / "checkpoints" / "config.yaml").exists()
    assert any(k.startswith("val/inpaint/") for k in out["metrics"])
    # resume from last.ckpt for a second epoch: the step count continues
    cfg2 = compose_cfg("pretrain", ["trainer.max_epochs=2", f"ckpt_path={out['last']}"])
    out2 = run(cfg2)
    assert torch.load(out2["last"], map_location="cpu", weights_only=False)["global_step"] == 4
    # and the checkpoint alone rebuilds the module
    m = TaskModule.load_from_checkpoint(out2["last"], map_location="cpu")
    assert set(m.heads) == {"inpaint", "count", "refill", "future"}


def test_last_checkpoint_holds_the_latest_weights_when_the_score_does_not_improve(compose_cfg, tmp_path):
    """last.ckpt is the run's end, and the best checkpoint its own: a score that never
    improves after the first validation (the step, minimised) keeps the best at epoch 0.
    (Lightning >= 2.6 writes the monitored callback's last.ckpt only on an improvement.)"""
    out = run(compose_cfg("pretrain", ["trainer.max_epochs=3", "callbacks.model_checkpoint.monitor=step",
                                       "callbacks.model_checkpoint.filename=best", f"paths.output_dir={tmp_path / 'r'}"]))
    assert torch.load(out["last"], map_location="cpu", weights_only=True)["global_step"] == 6
    assert Path(out["best"]).name == "best.ckpt"
    assert torch.load(out["best"], map_location="cpu", weights_only=True)["global_step"] == 2
    assert sorted(p.name for p in (tmp_path / "r" / "checkpoints").glob("*.ckpt")) == ["best.ckpt", "last.ckpt"]


def test_pretext_selection_and_unknown_names(compose_cfg):
    cfg = compose_cfg("pretrain", ["pretext=[inpaint,onset]", "pretext_tasks.onset.rect_px=[32,32]"])
    specs = selected_tasks(cfg)
    assert list(specs) == ["inpaint", "onset"] and list(specs.onset.rect_px) == [32, 32]
    with pytest.raises(ValueError, match=r"unknown pretext task\(s\) 'telepathy'; valid: count, future, inpaint, onset, refill"):
        selected_tasks(compose_cfg("pretrain", ["pretext=[inpaint,telepathy]"]))
    with pytest.raises(ValueError, match="no pretext task selected"):
        selected_tasks(compose_cfg("pretrain", ["pretext=[]"]))
