"""Compose the real Hydra configs for module tests (tiny and fast)."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir

from evpose.cli import _hydra

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
