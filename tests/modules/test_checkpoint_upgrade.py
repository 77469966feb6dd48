"""Checkpoints of format 1 (evpose before the node input spec) still load, predict as they
did, and give their backbone to fine-tuning; what cannot be recovered is a clear error.
Pretraining checkpoints before format 3 (heads that were their network alone) load with
every head weight where the head keeps it now."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from evpose.estimator import load_estimator
from evpose.geometry import dhp19_cameras
from evpose.modules import CheckpointError, FinetuneModule, PretrainModule, read_checkpoint
from evpose.modules.checkpoints import upgrade_head_weights, upgrade_hyperparameters
from evpose.types import make_events

FIXTURES = Path(__file__).parent / "fixtures"  # made by fixtures/make_format1.py with evpose at 5bf6cdc
PRETRAIN, FINETUNE = FIXTURES / "format1_pretrain.ckpt", FIXTURES / "format1_finetune.ckpt"


def fixed_window() -> np.ndarray:
    """The window format1_finetune_prediction.npz was predicted on."""
    rng = np.random.default_rng(0)
    n = 3000
    return make_events(np.sort(rng.integers(0, 30000, n)), rng.integers(100, 250, n), rng.integers(60, 220, n),
                       rng.integers(0, 2, n))


def test_the_fixtures_are_format_1():
    for path in (PRETRAIN, FINETUNE):
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        hp = ckpt["hyper_parameters"]
        backbone = hp["backbone"] if "backbone" in hp else hp["net"]["backbone"]
        assert ckpt["evpose"]["format"] == 1 and "input_spec" not in hp and backbone["in_channels"] == 21


def test_reading_upgrades_the_hyperparameters():
    for path in (PRETRAIN, FINETUNE):
        hp = read_checkpoint(path)["hyper_parameters"]
        backbone = hp["backbone"] if "backbone" in hp else hp["net"]["backbone"]
        assert hp["input_spec"] == {"tore_k": 4, "num_parts": 10}  # 21 = 1 + 2 * 4 + 10 + 2
        assert "in_channels" not in backbone


def test_old_modules_load_with_their_weights():
    pre = PretrainModule.load_from_checkpoint(PRETRAIN, map_location="cpu")
    assert pre.input_spec.channels == 21 and pre.backbone.in_channels == 21
    assert set(pre.tasks) == {"inpaint", "count", "refill", "future"}
    # every weight of the file, the heads' moved to where the heads keep their networks now
    old = torch.load(PRETRAIN, map_location="cpu", weights_only=True)["state_dict"]
    moved = {"inpaint": "decoder.", "count": "decoder.", "refill": "net.", "future": ""}
    want = {}
    for k, v in old.items():
        task = k.split(".")[1] if k.startswith("heads.") else None
        want[k if task is None else f"heads.{task}.{moved[task]}{k[len(f'heads.{task}.'):]}"] = v
    got = pre.state_dict()
    assert set(got) == set(want)
    for k, v in got.items():
        torch.testing.assert_close(v, want[k], rtol=0, atol=0)
    ft = FinetuneModule.load_from_checkpoint(FINETUNE, map_location="cpu")
    state = torch.load(FINETUNE, map_location="cpu", weights_only=True)["state_dict"]
    for k, v in ft.state_dict().items():
        torch.testing.assert_close(v, state[k], rtol=0, atol=0)


def test_an_old_checkpoint_predicts_as_it_did():
    want = np.load(FIXTURES / "format1_finetune_prediction.npz")
    got = load_estimator(FINETUNE).predict(fixed_window(), dhp19_cameras()["cam2"])
    np.testing.assert_array_equal(got["node_index"], want["node_index"])
    np.testing.assert_array_equal(got["parts"], want["parts"])
    for key in ("joints2d", "confidence", "joints3d"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-4)


def test_an_old_pretraining_gives_its_backbone_to_fine_tuning():
    ft = FinetuneModule.load_from_checkpoint(FINETUNE, map_location="cpu")
    report = ft.load_pretrained_backbone(PRETRAIN)
    assert report["missing"] == [] and report["unexpected"] == [] and report["loaded"]


def test_an_unrecoverable_layout_is_a_clear_error():
    hp = read_checkpoint(FINETUNE)["hyper_parameters"]
    old = {**hp, "net": {**hp["net"], "backbone": {**hp["net"]["backbone"], "in_channels": 9}}}
    del old["input_spec"]
    with pytest.raises(CheckpointError, match=r"old\.ckpt: .*format 1 with backbone in_channels=9 and tore_k=4"):
        upgrade_hyperparameters(old, "old.ckpt")
    no_graph = {**old, "graph": None, "config": None}
    with pytest.raises(CheckpointError, match="without the graph TORE depth"):
        upgrade_hyperparameters(no_graph, "old.ckpt")


def test_head_weights_move_only_from_the_old_layout():
    state = {"heads.inpaint.out.0.weight": torch.ones(1), "heads.future.motion.0.bias": torch.zeros(1),
             "backbone.w": torch.ones(2)}
    prefixes = {"inpaint": "decoder.", "future": ""}
    expected = {"heads.inpaint.decoder.out.0.weight", "heads.future.motion.0.bias", "backbone.w"}
    old = {"state_dict": dict(state)}  # (no evpose entry: the layout decides)
    upgrade_head_weights(old, prefixes, expected)
    assert set(old["state_dict"]) == expected
    now = {"state_dict": dict(old["state_dict"])}
    upgrade_head_weights(now, prefixes, expected)  # in place already: nothing moves
    assert set(now["state_dict"]) == expected
    # a head whose network has a child of the prefix's name (refill's NodeHead keeps 'net')
    nested = {"state_dict": {"heads.refill.net.weight": torch.ones(1)}}
    upgrade_head_weights(nested, {"refill": "net."}, {"heads.refill.net.net.weight"})
    assert set(nested["state_dict"]) == {"heads.refill.net.net.weight"}
    foreign = {"state_dict": {"heads.inpaint.other.weight": torch.ones(1)}}
    upgrade_head_weights(foreign, prefixes, expected)  # fits neither layout: left for load_state_dict to name
    assert set(foreign["state_dict"]) == {"heads.inpaint.other.weight"}
