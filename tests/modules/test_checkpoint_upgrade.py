"""Checkpoints of format 1 (evpose before the node input spec) still load, predict as they
did, and give their backbone to fine-tuning; what cannot be recovered is a clear error.
Pretraining checkpoints before format 3 (heads that were their network alone) load with
every head weight where the head keeps it now. Checkpoints before format 4 (PretrainModule
and FinetuneModule; the pose network a PoseNet spec) load into the one TaskModule: their
hyperparameters as its backbone and task specs, every weight where its network keeps it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from evpose.estimator import load_estimator
from evpose.geometry import dhp19_cameras
from evpose.modules import CheckpointError, TaskModule, read_checkpoint
from evpose.modules.checkpoints import upgrade_head_weights, upgrade_hyperparameters, upgrade_state_dict
from evpose.types import make_events

FIXTURES = Path(__file__).parent / "fixtures"  # made by fixtures/make_format1.py with evpose at 5bf6cdc
PRETRAIN, FINETUNE = FIXTURES / "format1_pretrain.ckpt", FIXTURES / "format1_finetune.ckpt"
# made by fixtures/make_format3.py with evpose at 7c16ff2 (two backbone stages)
PRETRAIN3, FINETUNE3 = FIXTURES / "format3_pretrain.ckpt", FIXTURES / "format3_finetune.ckpt"


def format4_key(key: str) -> str:
    """Where today's module keeps the weight a checkpoint before format 4 kept under ``key``."""
    if key.startswith(("backbone.", "heads.")):
        return "net." + key
    for head in ("joints2d", "joints3d", "parts"):
        if key.startswith(f"net.{head}."):
            return f"net.heads.{head}.stages." + key[len(f"net.{head}."):]
    return key


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
    pre = TaskModule.load_from_checkpoint(PRETRAIN, map_location="cpu", kind="pretrain")
    assert pre.input_spec.channels == 21 and pre.backbone.in_channels == 21
    assert set(pre.tasks) == {"inpaint", "count", "refill", "future"}
    # every weight of the file, the heads' moved to where the heads keep their networks now
    old = torch.load(PRETRAIN, map_location="cpu", weights_only=True)["state_dict"]
    moved = {"inpaint": "decoder.", "count": "decoder.", "refill": "net.", "future": ""}
    want = {}
    for k, v in old.items():
        task = k.split(".")[1] if k.startswith("heads.") else None
        want[format4_key(k if task is None else f"heads.{task}.{moved[task]}{k[len(f'heads.{task}.'):]}")] = v
    got = pre.state_dict()
    assert set(got) == set(want)
    for k, v in got.items():
        torch.testing.assert_close(v, want[k], rtol=0, atol=0)
    ft = TaskModule.load_from_checkpoint(FINETUNE, map_location="cpu", kind="finetune")
    state = {format4_key(k): v for k, v in torch.load(FINETUNE, map_location="cpu", weights_only=True)["state_dict"].items()}
    assert set(ft.state_dict()) == set(state)
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
    ft = TaskModule.load_from_checkpoint(FINETUNE, map_location="cpu")
    report = ft.load_pretrained_backbone(PRETRAIN)
    assert report["missing"] == [] and report["unexpected"] == [] and report["loaded"]


def test_an_unrecoverable_layout_is_a_clear_error():
    hp = torch.load(FINETUNE, map_location="cpu", weights_only=True)["hyper_parameters"]
    old = {**hp, "net": {**hp["net"], "backbone": {**hp["net"]["backbone"], "in_channels": 9}}}
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


def test_format3_fixtures_are_format_3():
    for path, kind in ((PRETRAIN3, "pretrain"), (FINETUNE3, "finetune")):
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        assert ckpt["evpose"]["format"] == 3 and ckpt["evpose"]["kind"] == kind
    hp = torch.load(FINETUNE3, map_location="cpu", weights_only=True)["hyper_parameters"]
    assert hp["net"]["_target_"] == "evpose.models.PoseNet" and hp["net"]["backbone"]["num_stages"] == 2


def test_a_format3_fine_tuning_converts_to_the_pose_tasks():
    old = torch.load(FINETUNE3, map_location="cpu", weights_only=True)["hyper_parameters"]
    hp = read_checkpoint(FINETUNE3, kind="finetune")["hyper_parameters"]
    assert "net" not in hp and hp["backbone"] == old["net"]["backbone"]
    assert list(hp["tasks"]) == ["joints2d", "joints3d", "parts"]
    j2d, j3d, parts = hp["tasks"]["joints2d"], hp["tasks"]["joints3d"], hp["tasks"]["parts"]
    lw = old["loss_weights"]
    assert (j2d["weight"], j2d["heatmap_weight"], j2d["loss"], j2d["heatmap_sigma_px"]) == (
        lw["joints2d"], lw["heatmap"], "smooth_l1", old["heatmap_sigma_px"])
    assert (j3d["weight"], j3d["root_depth_weight"], parts["weight"]) == (lw["rel_depth"], lw["root_depth"], lw["parts"])
    for key in ("root_from", "gamma_init", "depth_scale_mm", "detach_depth_prob", "root_box_from_labels"):
        assert j3d[key] == old["net"][key]
    assert hp["stage_weights"] == [0.5, 1.0] and hp["backbone_lr_factor"] == old["backbone_lr_factor"]
    # every weight of the file, where today's module keeps it
    ft = TaskModule.load_from_checkpoint(FINETUNE3, map_location="cpu", kind="finetune")
    assert ft.hparams.stage_weights == [0.5, 1.0] and ft.backbone.num_stages == 2
    state = {format4_key(k): v for k, v in torch.load(FINETUNE3, map_location="cpu", weights_only=True)["state_dict"].items()}
    assert set(ft.state_dict()) == set(state)
    for k, v in ft.state_dict().items():
        torch.testing.assert_close(v, state[k], rtol=0, atol=0)
    pre = TaskModule.load_from_checkpoint(PRETRAIN3, map_location="cpu", kind="pretrain")
    state = {format4_key(k): v for k, v in torch.load(PRETRAIN3, map_location="cpu", weights_only=True)["state_dict"].items()}
    assert set(pre.state_dict()) == set(state) and pre.checkpoint_kind == "pretrain"
    assert ft.load_pretrained_backbone(PRETRAIN3)["missing"] == []


def test_a_format3_fine_tuning_predicts_as_it_did():
    want = np.load(FIXTURES / "format3_finetune_prediction.npz")
    got = load_estimator(FINETUNE3).predict(fixed_window(), dhp19_cameras()["cam2"])
    np.testing.assert_array_equal(got["node_index"], want["node_index"])
    np.testing.assert_array_equal(got["parts"], want["parts"])
    for key in ("joints2d", "confidence", "joints3d"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-4)


def test_what_the_conversion_does_not_know_is_a_clear_error():
    hp = torch.load(FINETUNE3, map_location="cpu", weights_only=True)["hyper_parameters"]
    with pytest.raises(CheckpointError, match=r"old\.ckpt: .*hyperparameter\(s\) net\.telepathy, loss_weights\.style"):
        upgrade_hyperparameters({**hp, "net": {**hp["net"], "telepathy": 1},
                                 "loss_weights": {**hp["loss_weights"], "style": 2.0}}, "old.ckpt")
    with pytest.raises(CheckpointError, match=r"old\.ckpt: hyper_parameters\.net is not an evpose\.models\.PoseNet spec"):
        upgrade_hyperparameters({**hp, "net": {**hp["net"], "_target_": "evpose.models.RefinementStack"}}, "old.ckpt")
    # a format-4 file passes unchanged, and its weights stay where they are
    today = read_checkpoint(FINETUNE3)
    assert upgrade_hyperparameters(today["hyper_parameters"]) == today["hyper_parameters"]
    keys = list(today["state_dict"])
    upgrade_state_dict(today)
    assert list(today["state_dict"]) == keys and all(k.startswith(("net.backbone.", "net.heads.")) for k in keys)
