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
