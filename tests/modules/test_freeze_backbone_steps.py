"""freeze_backbone_steps (LP-FT): the backbone's weights stay bit-identical for the first N
optimisation steps (weight decay included) while the heads train; from step N on the
backbone trains too, its AdamW moments starting at its first trained step."""

from __future__ import annotations

import pytest
import torch

from evpose.cli.finetune import run as finetune
from evpose.modules import TaskModule
from tests.helpers import finetune_module
from evpose.modules.checkpoints import read_checkpoint

FREEZE = 3


def budget(steps: int) -> list[str]:
    return ["trainer.max_epochs=-1", f"trainer.max_steps={steps}", "trainer.check_val_every_n_epoch=null",
            f"trainer.val_check_interval={steps}"]


def run(compose_cfg, pretrained_ckpt, steps: int, tmp_path, name: str) -> dict:
    # a weight decay large enough to show in a step: a frozen weight must not decay either
    cfg = compose_cfg("finetune", [f"pretrained={pretrained_ckpt}", f"freeze_backbone_steps={FREEZE}",
                                   "optimizer.weight_decay=0.5", "scheduler.warmup_steps=1", *budget(steps),
                                   f"paths.output_dir={tmp_path / name}"])
    return read_checkpoint(finetune(cfg)["last"])


def adam_steps(ckpt: dict, group: str) -> list[float]:
    """AdamW's step count of every parameter of one group (None: no state, never updated)."""
    opt = ckpt["optimizer_states"][0]
    (g,) = [g for g in opt["param_groups"] if g["name"] == group]
    return [float(opt["state"][i]["step"]) if i in opt["state"] else None for i in g["params"]]


def test_the_backbone_waits_for_its_steps_then_trains(compose_cfg, pretrained_ckpt, tmp_path):
    pre = TaskModule.load_from_checkpoint(pretrained_ckpt, map_location="cpu").backbone.state_dict()
    early = run(compose_cfg, pretrained_ckpt, FREEZE - 1, tmp_path, "early")
    late = run(compose_cfg, pretrained_ckpt, FREEZE + 2, tmp_path, "late")
    assert early["global_step"] == FREEZE - 1 and late["global_step"] == FREEZE + 2
    assert early["hyper_parameters"]["freeze_backbone_steps"] == FREEZE

    def backbone(ckpt):
        return {k[len("net.backbone."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("net.backbone.")}

    def heads(ckpt):
        return {k: v for k, v in ckpt["state_dict"].items() if not k.startswith("net.backbone.")}

    # steps 1 .. FREEZE-1: the backbone is the pretrained one, bit for bit (no update, no decay) ...
    got = backbone(early)
    assert set(got) == set(pre)
    for k in pre:
        torch.testing.assert_close(got[k], pre[k], rtol=0, atol=0)
    # ... which the optimiser never touched, while it updated every head parameter at every step
    assert set(adam_steps(early, "backbone")) == {None}
    assert set(adam_steps(early, "heads")) == {float(FREEZE - 1)}
    assert any(not torch.equal(heads(early)[k], heads(late)[k]) for k in heads(early))
    # after FREEZE steps it trains: moved, its moments counted from its first trained step
    got = backbone(late)
    assert any(not torch.equal(got[k], pre[k]) for k in pre)
    assert set(adam_steps(late, "backbone")) == {2.0}
    assert set(adam_steps(late, "heads")) == {float(FREEZE + 2)}


def test_freeze_backbone_steps_is_checked_and_defaults_to_none(compose_cfg):
    cfg = compose_cfg("finetune")
    module = finetune_module(cfg)
    assert module.hparams.freeze_backbone_steps == 0 and not module.backbone_frozen_now()
    assert finetune_module(cfg, freeze_backbone_steps=5).backbone_frozen_now()
    with pytest.raises(ValueError, match="freeze_backbone_steps must be an integer >= 0"):
        finetune_module(cfg, freeze_backbone_steps=-1)
    with pytest.raises(ValueError, match="freeze_backbone_steps must be an integer >= 0"):
        finetune_module(cfg, freeze_backbone_steps=2.5)
    with pytest.raises(ValueError, match="for a frozen start only"):
        finetune_module(cfg, freeze_backbone=True, freeze_backbone_steps=5)
