"""Composing evpose's Hydra configs from Python (the demo and experiment runners)."""

from __future__ import annotations

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from . import _hydra


def compose_config(name: str, overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """The config ``conf/<name>.yaml`` with command-line style overrides, as the command
    ``evpose-<name>`` would see it (give ``paths.output_dir=...``: there is no Hydra run folder)."""
    GlobalHydra.instance().clear()  # also inside a running Hydra app
    with initialize_config_dir(config_dir=_hydra.CONFIG_PATH, version_base="1.3"):
        return compose(name, overrides=list(overrides))
