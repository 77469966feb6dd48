"""`evpose-synth`: generate a synthetic DHP19-like dataset (see conf/synth.yaml)."""

from __future__ import annotations

import sys

import hydra
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from . import _hydra
from .errors import one_line_errors


# An absolute path: Hydra reads a relative config_path as a Python package path when the
# entry point runs as an installed console script (`evpose-synth`), where conf/ is no package.
@hydra.main(version_base="1.3", config_path=_hydra.CONFIG_PATH, config_name="synth")
@one_line_errors("evpose-synth")
def main(cfg: DictConfig) -> None:
    try:
        instantiate(cfg.generate)
    except (InstantiationException, ValueError, FileExistsError) as e:
        # a bad parameter or an occupied folder: say it plainly, without a traceback
        cause = e.__cause__ if isinstance(e, InstantiationException) else e
        if not isinstance(cause, (ValueError, FileExistsError)):
            raise
        print(f"evpose-synth: error: {cause}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
