"""trainer=ddp for real: evpose-finetune in two CPU processes (gloo)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tests.modules.conftest import FAST

ROOT = Path(__file__).resolve().parents[2]
STEPS = 4  # 8 training windows, 2 per step: one epoch, then validation on 4 windows
COMMON = [o for o in FAST if not o.startswith(("trainer.max_epochs", "data.batch_size"))] + [
    "pretrained=none",
    "trainer.max_epochs=-1",
    f"trainer.max_steps={STEPS}",
    "data.cache_workers=0",
    "data.batch_size=1",
]


def metrics(run_dir: Path) -> list[dict]:
    with open(run_dir / "csv" / "metrics.csv") as f:
        return list(csv.DictReader(f))


def last_weights(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["state_dict"]


@pytest.mark.ddp
def test_ddp_two_cpu_processes_train(tmp_path, tiny_dataset):
    """evpose-finetune trainer=ddp on two CPU processes (gloo) runs its steps, validates and
    writes a checkpoint that loads. (Step-for-step equality with one process is not checked
    yet: against one process accumulating the same two windows, the weights after 4 steps
    differed by up to 8e-3, unexplained so far.)"""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "evpose.cli.finetune", f"data.root={tiny_dataset}",
           f"hydra.run.dir={tmp_path / 'ddp'}", *COMMON, "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert "distributed_backend=gloo" in log and "All distributed processes registered" in log, log[-3000:]
    rows = metrics(tmp_path / "ddp")
    assert len({int(r["step"]) for r in rows if r.get("train/loss_step")}) == STEPS, rows
    assert [r for r in rows if r.get("val/loss")], rows
    weights = last_weights(tmp_path / "ddp")
    assert all(torch.isfinite(v).all() for v in weights.values() if v.is_floating_point())
    assert not any("log_bandwidth" in k for k in weights)  # max-only convs: no parameter without gradient
