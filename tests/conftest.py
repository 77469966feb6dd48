"""Shared fixtures."""

from __future__ import annotations

import numpy as np
import pytest

from evpose.geometry import Camera, dhp19_cameras


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def dhp19_cams() -> dict[str, Camera]:
    return dhp19_cameras()


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """A tiny synthetic dataset folder: subjects 1 (train), 2 (val), 3 (test), two movements,
    0.6 s, DHP19 cameras 2 and 3."""
    from evpose.synth import generate_dataset

    root = tmp_path_factory.mktemp("tiny_synth")
    generate_dataset(
        root, preset="demo", seed=0, num_workers=1, progress=None,
        splits={"train": [1], "val": [2], "test": [3]}, movements=["squats", "wave"], duration_s=0.6,
        cameras=["cam2", "cam3"],
    )
    return root
