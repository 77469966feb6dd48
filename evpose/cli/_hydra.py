"""Shared Hydra plumbing of the command-line entry points."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf

def project_root() -> Path:
    """The evpose checkout: $EVPOSE_ROOT if set, else the folder holding conf/ next to the
    package, else the current directory."""
    env = os.environ.get("EVPOSE_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[2]
    if (here / "conf").is_dir():
        return here
    return Path.cwd()


def node_feature_channels(tore_k: int, num_parts: int) -> int:
    """Node input width: polarity, 2 * tore_k TORE values, the part input (P + 2)."""
    return 1 + 2 * int(tore_k) + int(num_parts) + 2


def register_resolvers() -> None:
    """Register evpose's OmegaConf resolvers (idempotent)."""
    if not OmegaConf.has_resolver("evpose_root"):
        OmegaConf.register_new_resolver("evpose_root", lambda: str(project_root()))
    if not OmegaConf.has_resolver("evpose_in_channels"):
        OmegaConf.register_new_resolver("evpose_in_channels", node_feature_channels)


register_resolvers()

#: conf/ of the checkout as an absolute path (Hydra reads a relative config_path as a Python
#: package path when a command runs as an installed console script).
CONFIG_PATH = str(project_root() / "conf")
