"""A fixed budget of optimisation steps (trainer.max_steps with unbounded epochs): the run
stops there, validates there, and its learning-rate schedule spans exactly those steps."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from evpose.cli.finetune import run as finetune
from evpose.modules.checkpoints import read_checkpoint
from evpose.modules.schedules import scheduled_steps

STEPS = 7
BUDGET = ["trainer.max_epochs=-1", f"trainer.max_steps={STEPS}", "trainer.check_val_every_n_epoch=null",
          f"trainer.val_check_interval={STEPS}"]


def test_a_step_budget_ends_at_its_step_with_the_schedule_at_its_end(compose_cfg):
    # 8 windows in batches of 4: 2 steps per epoch, so 7 steps end inside the 4th epoch
    cfg = compose_cfg("finetune", ["pretrained=none", "scheduler.warmup_steps=2", *BUDGET])
    res = finetune(cfg)
    ckpt = read_checkpoint(res["last"])
    assert ckpt["global_step"] == STEPS and ckpt["epoch"] == 3
    sched = ckpt["lr_schedulers"][0]
    lr, min_factor = cfg.optimizer.lr, cfg.scheduler.min_factor
    # warmup_cosine over 7 steps: after the last step the rate is min_factor x the base rate
    assert sched["last_epoch"] == STEPS
    assert sched["_last_lr"][0] == pytest.approx(lr * min_factor, rel=1e-6)
    # validated once, at the last step (val_check_interval counts steps across epochs)
    rows = (Path(res["run_dir"]) / "learning_curve.csv").read_text().strip().splitlines()[1:]
    assert len(rows) == 1 and int(rows[0].split(",")[2]) == STEPS


def test_scheduled_steps_reads_the_trainer_and_refuses_an_endless_run():
    assert scheduled_steps(SimpleNamespace(estimated_stepping_batches=123)) == 123
    with pytest.raises(ValueError, match="set trainer.max_steps"):
        scheduled_steps(SimpleNamespace(estimated_stepping_batches=math.inf))
    with pytest.raises(ValueError, match="needs the trainer"):
        scheduled_steps(None)
