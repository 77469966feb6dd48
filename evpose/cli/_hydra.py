"""Shared Hydra plumbing of the command-line entry points."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf

#: conf/ of the checkout, relative to this file (Hydra wants a path relative to the caller's module).
CONFIG_PATH = "../../conf"


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


def register_resolvers() -> None:
    """Register evpose's OmegaConf resolvers (idempotent)."""
    if not OmegaConf.has_resolver("evpose_root"):
        OmegaConf.register_new_resolver("evpose_root", lambda: str(project_root()))


register_resolvers()
