"""The process's random number generators (torch, numpy, random) as plain values.

A checkpoint holds them as tensors, ints and lists, so that it loads with
``torch.load(weights_only=True)``; restoring them makes the random draws after a resume
those of the run that was never interrupted.
"""

from __future__ import annotations

import random

import numpy as np
import torch


def rng_states() -> dict:
    """The CPU generators' states: ``{"torch": ByteTensor, "numpy": {...}, "python": [...]}``."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_py = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "numpy": {"name": str(name), "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": {"version": int(version), "internal": list(internal), "gauss": gauss_py},
    }


def set_rng_states(states: dict) -> None:
    """Restore what :func:`rng_states` returned."""
    torch.set_rng_state(states["torch"])
    n = states["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    p = states["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss"]))
