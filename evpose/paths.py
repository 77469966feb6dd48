"""Where the evpose checkout lies (for the default data and log folders; imports nothing
from evpose, so that every layer may ask)."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The evpose checkout: $EVPOSE_ROOT if set, else the folder holding conf/ next to the
    package, else the current directory."""
    env = os.environ.get("EVPOSE_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[1]
    if (here / "conf").is_dir():
        return here
    return Path.cwd()
