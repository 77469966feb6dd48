"""Shared Hydra plumbing of the command-line entry points."""

from __future__ import annotations

from omegaconf import OmegaConf

from ..paths import project_root  # noqa: F401  (re-exported: notebooks and commands use it from here)


def register_resolvers() -> None:
    """Register evpose's OmegaConf resolvers (idempotent)."""
    if not OmegaConf.has_resolver("evpose_root"):
        OmegaConf.register_new_resolver("evpose_root", lambda: str(project_root()))


register_resolvers()

#: conf/ of the checkout as an absolute path (Hydra reads a relative config_path as a Python
#: package path when a command runs as an installed console script).
CONFIG_PATH = str(project_root() / "conf")
