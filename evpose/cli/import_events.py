"""`evpose-import <file or folder> out=<dataset folder>`: event files of other formats -> an
evpose dataset folder (conf/import.yaml).

The first argument without ``=`` is the input (``input=<path>`` works too). Exits with status 1
when a file failed (the others are imported; see the manifest's ``failed`` list).
"""

from __future__ import annotations

import logging
import re
import sys

import hydra
from omegaconf import DictConfig

import evpose.cli._hydra as _hydra  # noqa: F401  (registers the ${evpose_root:} resolver)
from evpose.cli.errors import one_line_errors

log = logging.getLogger(__name__)
_status = {"failed": 0}
#: Hydra options that take a value (the value is no input path).
_OPTIONS_WITH_VALUE = {"--cfg", "-c", "--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd",
                       "--package", "-p", "--info", "-i", "--experimental-rerun"}


def positional_input(argv: list[str]) -> list[str]:
    """``argv`` with its first argument without ``=`` (and not an option or an option's value)
    turned into the override ``input=<path>``, quoted for Hydra when needed."""
    out, found = [], False
    for i, arg in enumerate(argv):
        prev = argv[i - 1] if i > 0 else ""
        if not found and not arg.startswith("-") and "=" not in arg and prev not in _OPTIONS_WITH_VALUE:
            value = arg if re.fullmatch(r"[\w./~+-]+", arg) else "'" + arg.replace("\\", "\\\\").replace("'", "\\'") + "'"
            out.append(f"input={value}")
            found = True
        else:
            out.append(arg)
    return out


@hydra.main(version_base="1.3", config_path=_hydra.CONFIG_PATH, config_name="import")
@one_line_errors("evpose-import")
def run(cfg: DictConfig) -> dict:
    """Build the importer from ``cfg.importer`` and run it on ``cfg.input`` -> ``cfg.out``."""
    importer = hydra.utils.instantiate(cfg.importer)
    manifest = importer.run(cfg.input, cfg.out)
    _status["failed"] = len(manifest["failed"])
    for f in manifest["failed"]:
        log.error("failed: %s: %s", f["source_file"], f["error"])
    return manifest


def main() -> int:
    sys.argv[1:] = positional_input(sys.argv[1:])
    run()
    return 1 if _status["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
