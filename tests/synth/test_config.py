"""Generation parameters: presets, overrides and clear errors for bad values."""

from __future__ import annotations

import json

import pytest

from evpose.data.manifest import SPLITS as DATA_SPLITS
from evpose.synth import PRESETS, SynthConfig, preset_config, synthesize_recording
from evpose.synth.movements import BASIC_MOVEMENTS, MOVEMENTS
from evpose.synth.presets import SPLITS


def test_presets():
    demo, full = PRESETS["demo"], PRESETS["full"]
    assert set(demo.movements) == set(BASIC_MOVEMENTS)
    assert set(demo.splits) == {"train", "val", "test"} and len(demo.subjects) >= 5
    assert demo.cameras == "dhp19"
    assert len(full.subjects) == 17 and len(full.movements) == len(MOVEMENTS) == 33
    assert set(full.splits["test"]) == {13, 14, 15, 16, 17}  # DHP19's test subjects
    assert SPLITS is DATA_SPLITS  # one definition (evpose.io.manifest)


def test_overrides_and_json_round_trip():
    cfg = preset_config("demo", duration_s=3.5, movements=["walk", "squats"])
    assert cfg.duration_s == 3.5 and cfg.movements == ("walk", "squats")
    d = json.loads(json.dumps(cfg.to_dict()))
    assert SynthConfig(**d) == cfg
    assert preset_config("demo", duration_s=None) == PRESETS["demo"]  # None keeps the preset's


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"cameras": []}, "no cameras"),
        ({"duration_s": -1.0}, "duration_s must be positive, got -1.0"),
        ({"duration_s": 0}, "duration_s must be positive"),
        ({"movements": ["walk", "moonwalk"]}, r"unknown movement 'moonwalk'; valid: walk, jog, high_knees"),
        ({"movements": []}, "no movements given; valid: walk"),
        ({"sensor_size": [480, 640]}, r"does not match the DHP19 camera matrices"),
        (
            {"cameras": [{"name": "c", "K": [[300, 0, 700], [0, 300, 240], [0, 0, 1]], "R": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "t": [0, 0, 0], "width": 640, "height": 480}]},
            r"principal point \(700.0, 240.0\) lies outside its 640x480 sensor: resolution does not match",
        ),
        ({"splits": {"train": [1, 2], "test": [2]}}, "subject 2 is in splits 'train' and 'test'"),
        ({"splits": {"training": [1]}}, "unknown split 'training'; valid: train, val, test"),
        ({"splits": {"train": [100]}}, "outside 1..99"),
        ({"num_persons": 3}, "num_persons must be 1 or 2"),
        ({"height_range": [1900, 1500]}, "height_range must satisfy"),
        ({"threshold_min": 0.5}, "bad threshold"),
        ({"noise_rate_hz": -1}, "bad noise"),
        ({"max_step_px": 0}, "max_step_px must be positive"),
        ({"frame_rate": 30}, r"unknown synthetic-data parameter\(s\) \['frame_rate'\]; valid: splits, movements"),
        ({"frame_rate": None}, r"unknown synthetic-data parameter\(s\) \['frame_rate'\]"),
    ],
)
def test_bad_config_gives_clear_error(overrides, match):
    with pytest.raises(ValueError, match=match):
        preset_config("demo", **overrides)


def test_unknown_preset_and_movement():
    with pytest.raises(ValueError, match="unknown preset 'huge'; valid: demo, full"):
        preset_config("huge")
    with pytest.raises(ValueError, match="unknown movement 'fly'; valid: walk"):
        synthesize_recording(1, "fly")
