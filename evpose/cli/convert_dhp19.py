"""`evpose-convert-dhp19 root=... out=...`: the original DHP19 recordings -> evpose dataset folder.

Exits with status 1 when a recording failed (the others are converted; see the
manifest's ``failed`` list and the log in logs/convert_dhp19/runs/<time>/).
"""

from __future__ import annotations

import logging
import sys

import hydra
from omegaconf import DictConfig

import evpose.cli._hydra as _hydra  # noqa: F401  (registers the ${evpose_root:} resolver)
from evpose.cli.errors import one_line_errors

log = logging.getLogger(__name__)
_status = {"failed": 0}


# An absolute path: Hydra reads a relative config_path as a Python package path when the
# command runs as an installed console script.
@hydra.main(version_base="1.3", config_path=_hydra.CONFIG_PATH, config_name="convert_dhp19")
@one_line_errors("evpose-convert-dhp19")
def convert(cfg: DictConfig) -> dict:
    """Build the converter from ``cfg.converter`` and run it on ``cfg.root`` -> ``cfg.out``."""
    converter = hydra.utils.instantiate(cfg.converter)
    manifest = converter.run(cfg.root, cfg.out)
    _status["failed"] = len(manifest["failed"])
    for f in manifest["failed"]:
        log.error("failed: S%s session%s mov%s: %s", f["subject"], f["session"], f["movement"], f["error"])
    return manifest


def main() -> int:
    convert()
    return 1 if _status["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
