"""Checkpoints are data, not code (issue 15): a hostile pickle or a hostile ``_target_`` is
refused before it runs, naming the file and the entry; today's checkpoints still load."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from evpose.estimator import load_estimator
from evpose.modules import (
    CheckpointError,
    TaskModule,
    TargetError,
    allow_targets,
    allowed_targets,
    load_backbone_weights,
    read_checkpoint,
)
from evpose.modules import build as build_module


class CopiesAFile:
    """Unpickling this runs ``shutil.copyfile(src, dst)``."""

    def __init__(self, src, dst):
        self.src, self.dst = str(src), str(dst)

    def __reduce__(self):
        return (shutil.copyfile, (self.src, self.dst))


def _loaders(kind):
    """Every way evpose reads a checkpoint of this kind."""
    out = [
        ("read_checkpoint", lambda p: read_checkpoint(p)),
        ("load_from_checkpoint", lambda p: TaskModule.load_from_checkpoint(p, map_location="cpu", kind=kind)),
        ("load_backbone_weights", lambda p: load_backbone_weights(torch.nn.Linear(1, 1), p)),
    ]
    if kind == "finetune":
        out.append(("load_estimator", lambda p: load_estimator(p)))
    return out


@pytest.mark.parametrize("kind", ["finetune", "pretrain"])
def test_pickle_that_runs_code_is_refused(kind, finetuned_ckpt, pretrained_ckpt, tmp_path):
    source = finetuned_ckpt if kind == "finetune" else pretrained_ckpt
    ckpt = torch.load(source, map_location="cpu", weights_only=True)
    marker = tmp_path / "marker.txt"
    ckpt["hyper_parameters"]["note"] = CopiesAFile(source, marker)
    evil = tmp_path / "evil.ckpt"
    torch.save(ckpt, evil)
    for name, load in _loaders(kind):
        with pytest.raises(CheckpointError, match=r"evil\.ckpt: refused: .*its pickle calls shutil\.copyfile") as e:
            load(evil)
        assert not marker.exists(), f"{name} ran the checkpoint's code"
        assert "\n" not in str(e.value)
    # the check is real: an unrestricted unpickler runs it
    torch.load(evil, map_location="cpu", weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("where", [["backbone"], ["backbone", "hourglass", "conv"], ["tasks", "joints2d"], ["graph"],
                                   ["optimizer"]])
def test_hostile_target_is_refused_before_anything_is_built(where, finetuned_ckpt, tmp_path, monkeypatch):
    """(Checkpoints of format 4; the same for the net spec of older files: below.)"""
    ckpt = torch.load(finetuned_ckpt, map_location="cpu", weights_only=True)
    marker = tmp_path / "marker.txt"
    spec = ckpt["hyper_parameters"]
    for k in where:
        spec = spec[k]
    spec.clear()
    spec.update({"_target_": "shutil.copyfile", "src": str(finetuned_ckpt), "dst": str(marker)})
    evil = tmp_path / "evil.ckpt"
    torch.save(ckpt, evil)
    built = []
    monkeypatch.setattr(build_module, "instantiate", lambda *a, **k: built.append(a) or pytest.fail("built"))
    key = "hyper_parameters." + ".".join(where) + "._target_"
    for name, load in _loaders("finetune"):
        with pytest.raises(CheckpointError, match=rf"evil\.ckpt: refused: {key} = 'shutil\.copyfile': not a class evpose builds"):
            load(evil)
        assert not marker.exists() and not built, name


@pytest.mark.parametrize(
    "target, reason",
    [
        ("os.system", "not a class evpose builds"),
        ("evpose.models.refine.torch.load", "defined in 'torch.serialization', outside the allowed modules"),
        ("evpose.models.RefinementStack.__init__", "private or malformed name"),
        ("evpose.models.NoSuchNet", "no such class or function"),
        ("evpose.synth.generate_dataset", "not a class evpose builds"),
        ("evpose.models.refine.torch.nn.Module", "defined in .torch.nn.modules.module., outside the allowed modules"),
    ],
)
def test_target_rules(target, reason):
    with pytest.raises(TargetError, match=reason):
        build_module.check_spec({"a": [{"_target_": "evpose.models.RefinementStack"}, {"b": {"_target_": target}}]})
    with pytest.raises(TargetError, match=r"^a\[1\]\.b\._target_ = "):
        build_module.check_spec({"a": [{"_target_": "evpose.models.RefinementStack"}, {"b": {"_target_": target}}]})


def test_interpolations_are_refused_and_own_prefixes_can_be_allowed():
    with pytest.raises(TargetError, match=r"graph\.r = '\$\{oc\.env:HOME\}': interpolations are not allowed"):
        build_module.check_spec({"graph": {"_target_": "evpose.graph.EventGraphTransform", "r": "${oc.env:HOME}"}})
    spec = {"_target_": "collections.OrderedDict"}
    with pytest.raises(TargetError):
        build_module.build(spec)
    before = allowed_targets()
    try:
        allow_targets("collections")
        assert build_module.build(spec) == {}
    finally:
        build_module._allowed[:] = before


def test_checkpoints_written_by_todays_evpose_load(finetuned_ckpt, pretrained_ckpt, tiny_dataset):
    assert read_checkpoint(finetuned_ckpt, kind="finetune")["evpose"]["kind"] == "finetune"
    est = load_estimator(finetuned_ckpt)
    from evpose.io import EventRecording

    with EventRecording(next((tiny_dataset / "test").glob("*.h5"))) as r:
        out = est.predict(r.events_slice("cam2", 0, 3000), r.camera("cam2"))
    assert np.isfinite(out["joints2d"]).all()
    m = TaskModule.load_from_checkpoint(finetuned_ckpt, map_location="cpu", kind="finetune")
    sd = torch.load(finetuned_ckpt, map_location="cpu", weights_only=True)["state_dict"]
    for k, v in m.state_dict().items():
        torch.testing.assert_close(v, sd[k], rtol=0, atol=0)
    assert set(TaskModule.load_from_checkpoint(pretrained_ckpt, map_location="cpu", kind="pretrain").heads) == {
        "inpaint", "count", "refill", "future"}
    with pytest.raises(CheckpointError, match="an evpose finetune checkpoint, but a pretrain one is needed"):
        TaskModule.load_from_checkpoint(finetuned_ckpt, kind="pretrain")


@pytest.mark.parametrize("where", [["net"], ["net", "backbone", "hourglass", "conv"]])
def test_a_hostile_target_in_an_old_pose_net_spec_is_refused(where, tmp_path, monkeypatch):
    """A fine-tuning file before format 4 names evpose.models.PoseNet (converted by name, never
    built); anything else there is checked like any spec."""
    old = Path(__file__).parent / "fixtures" / "format3_finetune.ckpt"
    ckpt = torch.load(old, map_location="cpu", weights_only=True)
    marker = tmp_path / "marker.txt"
    spec = ckpt["hyper_parameters"]
    for k in where:
        spec = spec[k]
    spec.clear()
    spec.update({"_target_": "shutil.copyfile", "src": str(old), "dst": str(marker)})
    evil = tmp_path / "evil.ckpt"
    torch.save(ckpt, evil)
    monkeypatch.setattr(build_module, "instantiate", lambda *a, **k: pytest.fail("built"))
    key = "hyper_parameters." + ".".join(where) + "._target_"
    for name, load in _loaders("finetune"):
        with pytest.raises(CheckpointError, match=rf"evil\.ckpt: refused: {key} = 'shutil\.copyfile': not a class evpose builds"):
            load(evil)
        assert not marker.exists(), name
