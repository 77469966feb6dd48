"""Building objects from the plain-dict configs that LightningModules keep as hyperparameters.

A module's hyperparameters hold ``_target_`` dicts (no pickled objects), so that a
checkpoint alone rebuilds the network in any Python process, with or without conf/.
"""

from __future__ import annotations

from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf


def to_plain(cfg: Any) -> Any:
    """An OmegaConf node (resolved) or any value as plain dicts and lists."""
    if isinstance(cfg, (DictConfig, ListConfig)):
        return OmegaConf.to_container(cfg, resolve=True)
    return cfg


def build(spec: Any, **kwargs) -> Any:
    """``hydra.utils.instantiate`` on a plain dict spec (with ``_target_``)."""
    if spec is None:
        return None
    if not isinstance(spec, dict) or "_target_" not in spec:
        raise ValueError(f"expected a config with a '_target_' key, got {spec!r}")
    return instantiate(OmegaConf.create(spec), **kwargs, _convert_="all")
