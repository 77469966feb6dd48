"""The arms of a label-efficiency run and its time estimate (pure planning, no training)."""

from __future__ import annotations

import pytest

from evpose.cli.label_efficiency import budget_overrides
from evpose.cli.label_efficiency_plan import (
    Arm,
    ablation_task_sets,
    arm_finetune_overrides,
    estimate,
    plan_ablation,
    plan_sweep,
    pretraining_steps,
    seeds_for,
    task_tag,
)
from evpose.errors import ConfigError

REPEAT = {"fractions": [0.1], "seeds": [0, 1, 2]}


def test_the_default_sweep_has_14_arms_checks_first():
    arms = plan_sweep([0.05, 0.1, 0.25, 0.5, 1.0], ["scratch", "pretrained"], [0], REPEAT)
    assert len(arms) == 14  # 5 fractions x 2 inits, plus 2 more seeds x 2 inits at 10%
    assert [a.name for a in arms[:8]] == ["scratch_f0.1_s0", "pretrained_f0.1_s0", "scratch_f0.1_s1", "pretrained_f0.1_s1",
                                          "scratch_f0.1_s2", "pretrained_f0.1_s2", "scratch_f1_s0", "pretrained_f1_s0"]
    assert [a.fraction for a in arms[8:]] == [0.05, 0.05, 0.25, 0.25, 0.5, 0.5]
    assert {a.tasks for a in arms if a.init == "pretrained"} == {"all"}
    assert len(plan_sweep([0.1, 1.0], ["scratch"], [0, 1], None)) == 4
    # the check's fraction 1.0 as well: each arm once, not twice
    assert [a.name for a in plan_sweep([1.0, 0.5], ["scratch"], [0], None, first=(1.0, 1.0))] == ["scratch_f1_s0",
                                                                                                   "scratch_f0.5_s0"]


def test_seeds_and_names():
    assert seeds_for(0.1, [0], REPEAT) == [0, 1, 2] and seeds_for(0.25, [0], REPEAT) == [0]
    assert seeds_for(0.1, [5], None) == [5]
    assert Arm("scratch", 0.05, 2).name == "scratch_f0.05_s2"
    assert Arm("pretrained", 0.1, 0, "all").name == "pretrained_f0.1_s0"  # shared by sweep and ablation
    assert Arm("pretrained", 0.1, 0, "inpaint+count").name == "pretrained-inpaint+count_f0.1_s0"


def test_ablation_task_sets_each_alone_then_all():
    tasks = ["inpaint", "count", "refill", "future"]
    sets = ablation_task_sets(tasks)
    assert sets == [["inpaint"], ["count"], ["refill"], ["future"], tasks]
    assert [task_tag(s, tasks) for s in sets] == ["inpaint", "count", "refill", "future", "all"]
    assert ablation_task_sets(["inpaint"]) == [["inpaint"]]
    assert ablation_task_sets(tasks, [["count", "refill"]]) == [["count", "refill"]]
    arms = plan_ablation(0.1, [0, 1, 2], ["inpaint", "all"])
    assert [a.name for a in arms[:4]] == ["scratch_f0.1_s0", "scratch_f0.1_s1", "scratch_f0.1_s2", "pretrained-inpaint_f0.1_s0"]
    assert len(arms) == 9


def test_bad_plans_are_refused():
    with pytest.raises(ConfigError, match="label_efficiency.inits"):
        plan_sweep([0.1], ["scratch", "imagenet"], [0])
    with pytest.raises(ConfigError, match=r"not in \(0, 1\]"):
        plan_sweep([0.0, 0.1], ["scratch"], [0])
    with pytest.raises(ConfigError, match="seeds is empty"):
        plan_sweep([0.1], ["scratch"], [])
    with pytest.raises(ConfigError, match="repeat.seeds is empty"):
        plan_sweep([0.1], ["scratch"], [0], {"fractions": [0.1], "seeds": []})
    with pytest.raises(ConfigError, match="empty task set"):
        ablation_task_sets(["inpaint"], [[]])
    with pytest.raises(ConfigError, match="steps must be at least 1"):
        budget_overrides(0, None)
    with pytest.raises(ConfigError, match="validate_every=300 must divide"):
        budget_overrides(1000, 300)


def test_budget_overrides_fix_the_steps_and_validate_at_the_end():
    assert budget_overrides(1000, None) == ["trainer.max_epochs=-1", "trainer.max_steps=1000",
                                            "trainer.check_val_every_n_epoch=null", "trainer.val_check_interval=1000"]
    assert budget_overrides(1000, 250)[-1] == "trainer.val_check_interval=250"
    assert budget_overrides(100, 250)[-1] == "trainer.val_check_interval=100"


def test_estimate_from_rates():
    speed = {"finetune_steps_per_s": 7.0, "pretrain_steps_per_s": 2.0, "eval_windows_per_s": 40.0, "arm_overhead_s": 40}
    pre = pretraining_steps(-1, 4, 1600, 8)
    assert pre == 800 and pretraining_steps(500, 4, 1600, 8) == 500 and pretraining_steps(-1, 4, None, 8) is None
    est = estimate(14, 700, 600, [pre], speed)
    # per arm: 700 / 7 + 600 / 40 + 40 = 155 s; 14 arms 2170 s; pretraining 400 s
    assert est["per_arm"] == 155.0 and est["arms"] == 2170.0 and est["pretraining"] == 400.0
    assert est["total"] == 2570.0 and est["complete"]
    assert not estimate(1, 7, 0, [None], speed)["complete"]


def test_pretrained_only_overrides_leave_the_scratch_arms_as_they_were():
    shared = ["trainer.max_steps=1000", "data.max_train_windows=null"]
    scratch, pre = Arm("scratch", 0.1, 0), Arm("pretrained", 0.1, 0, "all")
    lpft = ["freeze_backbone_steps=300"]
    assert arm_finetune_overrides(scratch, shared, lpft) == shared  # a scratch arm of an earlier run is read back
    assert arm_finetune_overrides(pre, shared, lpft) == [*shared, "freeze_backbone_steps=300"]  # last: they win
    assert arm_finetune_overrides(Arm("pretrained", 0.1, 0, "inpaint"), shared, lpft)[-1] == "freeze_backbone_steps=300"
    assert arm_finetune_overrides(pre, shared) == arm_finetune_overrides(pre, shared, []) == shared
