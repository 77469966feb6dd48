"""Compose the real Hydra configs for module tests (tiny and fast), and run commands in this
process or as two DDP processes."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from evpose.cli import _hydra

ROOT = Path(__file__).resolve().parents[2]

FAST = [
    "trainer.max_epochs=1",
    "trainer.log_every_n_steps=1",
    "data.batch_size=4",
    "data.num_workers=0",
    "data.max_train_windows=8",
    "data.max_eval_windows=4",
    "data.min_events=500",
    "graph.max_nodes=400",
    "model.backbone.hourglass.channels=[16,24,32]",
    "logger=csv",
]


@pytest.fixture
def compose_cfg(tiny_dataset, tmp_path):
    def _compose(name: str, overrides=()):
        with initialize_config_dir(config_dir=_hydra.CONFIG_PATH, version_base="1.3"):
            return compose(
                name,
                overrides=[f"data.root={tiny_dataset}", f"paths.output_dir={tmp_path / 'run'}", *FAST, *overrides],
            )

    return _compose


@pytest.fixture(scope="session")
def pretrained_ckpt(tiny_dataset, tmp_path_factory):
    """A pretraining checkpoint written by today's evpose-pretrain (tiny run)."""
    from evpose.cli.pretrain import run as pretrain

    out = tmp_path_factory.mktemp("pre")
    with initialize_config_dir(config_dir=_hydra.CONFIG_PATH, version_base="1.3"):
        cfg = compose("pretrain", overrides=[f"data.root={tiny_dataset}", f"paths.output_dir={out}", *FAST])
    return pretrain(cfg)["last"]


@pytest.fixture(scope="session")
def finetuned_ckpt(tiny_dataset, tmp_path_factory, pretrained_ckpt):
    """A fine-tuning checkpoint written by today's evpose-finetune, from ``pretrained_ckpt``."""
    from evpose.cli.finetune import run as finetune

    out = tmp_path_factory.mktemp("ft")
    with initialize_config_dir(config_dir=_hydra.CONFIG_PATH, version_base="1.3"):
        cfg = compose("finetune", overrides=[f"data.root={tiny_dataset}", f"paths.output_dir={out}", *FAST,
                                             f"pretrained={pretrained_ckpt}"])
    res = finetune(cfg)
    assert res["pretrained"] == str(pretrained_ckpt)
    return res["last"]


def run_here(command: str, overrides) -> dict:
    """``evpose-<command>`` with ``overrides`` in this process (its config composed as Hydra
    would); the torch thread count it sets is put back afterwards."""
    run = importlib.import_module(f"evpose.cli.{command}").run
    threads = torch.get_num_threads()
    try:
        with initialize_config_dir(config_dir=_hydra.CONFIG_PATH, version_base="1.3"):
            cfg = compose(command, overrides=list(overrides))
        return run(cfg)
    finally:
        torch.set_num_threads(threads)


def run_ddp_on_cpu(command: str, overrides, run_dir: Path, cwd: Path, timeout: int = 900) -> str:
    """``evpose-<command> trainer=ddp`` in two CPU processes (gloo) writing to ``run_dir``;
    asserts that it finished and ran distributed, and returns its output."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", f"evpose.cli.{command}", f"hydra.run.dir={run_dir}", *overrides,
           "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert "distributed_backend=gloo" in log and "All distributed processes registered" in log, log[-3000:]
    return log
