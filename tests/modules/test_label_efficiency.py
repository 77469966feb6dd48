"""evpose-label-efficiency end to end on the tiny dataset: the sweep (2 fractions, 2 seeds at
one of them, scratch and pretrained, 3 steps per arm) writes its table, JSON and figure;
every arm trains for the same steps with its own seed and labelled recordings; a rerun
reads finished arms back instead of training them again; the ablation pretrains once per
task set."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import evpose.cli.finetune as finetune_cli
import evpose.cli.pretrain as pretrain_cli
from evpose.cli.compose import compose_config
from evpose.cli.label_efficiency import run as label_efficiency
from evpose.data.label_fraction import label_subset
from evpose.errors import ConfigError
from evpose.modules.checkpoints import read_checkpoint
from tests.modules.conftest import FAST

STEPS = 3
real_pretrain = pretrain_cli.run
SEEDS = [0, 3]  # with 2 training recordings, seeds 0 and 3 label different halves


def as_list(items):
    return "[" + ",".join(f"'{x}'" for x in items) + "]"


def overrides(root, out, steps=STEPS):
    finetune = [o for o in FAST if not o.startswith("trainer.max_epochs")]  # the budget is in steps
    return [f"data_root={root}", f"paths.output_dir={out}", f"label_efficiency.steps={steps}",
            "label_efficiency.fractions=[0.5,1.0]", "label_efficiency.seeds=[0]",
            "label_efficiency.repeat.fractions=[0.5]",
            "label_efficiency.repeat.seeds=[" + ",".join(map(str, SEEDS)) + "]", "label_efficiency.check.fraction=0.5",
            f"label_efficiency.pretrain={as_list(FAST)}", f"label_efficiency.finetune={as_list(finetune)}",
            "label_efficiency.eval=" + as_list(["max_windows=8", "baseline_windows=16", "min_events=500"])]


class Counter:
    """Wraps a command's run() and counts the calls."""

    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, cfg):
        self.calls += 1
        return self.fn(cfg)


@pytest.fixture(scope="module")
def sweep(tiny_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("le")
    summary = label_efficiency(compose_config("label_efficiency", overrides(tiny_dataset, out)))
    return out, summary


def test_the_sweep_writes_table_json_and_figure(sweep):
    out, summary = sweep
    assert summary["complete"] and len(summary["arms"]) == 6 and summary["read_back"] == []
    for name in ("label_efficiency.md", "label_efficiency.json", "label_efficiency.png"):
        assert (out / name).stat().st_size > 0
    stored = json.loads((out / "label_efficiency.json").read_text())
    groups = {(g["fraction"], g["init"]): g for g in stored["groups"]}
    assert set(groups) == {(0.5, "scratch"), (0.5, "pretrained"), (1.0, "scratch"), (1.0, "pretrained")}
    assert groups[(0.5, "scratch")]["seeds"] == SEEDS and groups[(0.5, "scratch")]["metrics"]["mpjpe2d_px"]["n"] == 2
    assert groups[(0.5, "pretrained")]["metrics"]["mpjpe2d_px"]["std"] is not None
    assert groups[(1.0, "scratch")]["metrics"]["mpjpe2d_px"]["std"] is None
    assert stored["checks"]["target"]["met"] in (True, False) and stored["checks"]["stretch"]["met"] in (True, False)
    assert [c["fraction"] for c in stored["changes"]] == [0.5, 1.0]
    table = (out / "label_efficiency.md").read_text()
    assert "| 50% (1 of 2 recordings) | scratch | 2 |" in table and "| 100% (2 of 2 recordings) | pretrained | 1 |" in table
    assert "target (pretrained + 50% labels" in table and "stretch goal" in table and "mean training pose" in table
    assert f"{STEPS} optimisation steps" in table
    # one shared pretraining for every pretrained arm
    assert [p.name for p in (out / "pretrain").iterdir()] == ["all"]
    assert summary["pretrainings"]["all"]["tasks"] == ["inpaint", "count", "refill", "future"]


def test_every_arm_trains_the_same_steps_with_its_seed_and_labels(sweep, tiny_dataset):
    out, summary = sweep
    pre = str(out / "pretrain" / "all" / "checkpoints" / "last.ckpt")
    for rec in summary["arms"]:
        folder = out / "arms" / rec["name"]
        assert read_checkpoint(folder / "checkpoints" / "last.ckpt")["global_step"] == STEPS == rec["steps"]
        cfg = OmegaConf.load(folder / "checkpoints" / "config.yaml")
        assert cfg.seed == cfg.data.seed == rec["seed"] and cfg.data.label_fraction == rec["fraction"]
        assert cfg.trainer.max_steps == STEPS and cfg.trainer.max_epochs == -1
        assert cfg.pretrained == (pre if rec["init"] == "pretrained" else "none")
        assert (folder / "eval" / "eval.json").exists()
    # the two seeds at 50% trained on different labelled recordings
    assert label_subset(2, 0.5, SEEDS[0]) != label_subset(2, 0.5, SEEDS[1])
    by_seed = {r["seed"]: r for r in summary["arms"] if r["fraction"] == 0.5 and r["init"] == "scratch"}
    assert by_seed.keys() == set(SEEDS) and all(r["recordings"] == 1 for r in by_seed.values())


def test_a_rerun_reads_finished_arms_back_and_runs_only_the_unfinished(sweep, tiny_dataset, monkeypatch, capsys):
    out, first = sweep
    stamps = {p: p.stat().st_mtime_ns for p in (out / "arms").glob("*/checkpoints/last.ckpt")}
    ft, pre = Counter(finetune_cli.run), Counter(pretrain_cli.run)
    monkeypatch.setattr(finetune_cli, "run", ft)
    monkeypatch.setattr(pretrain_cli, "run", pre)
    again = label_efficiency(compose_config("label_efficiency", overrides(tiny_dataset, out)))
    assert ft.calls == 0 and pre.calls == 0
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert sorted(again["read_back"]) == sorted(r["name"] for r in first["arms"])
    text = capsys.readouterr().out
    assert "6 finished arms are read back (not recomputed)" in text and "read back" in text
    assert [r["metrics"] for r in again["arms"]] == [r["metrics"] for r in first["arms"]]
    assert again["pretrainings"]["all"]["read_back"] and "pretraining all: tasks" in (out / "label_efficiency.md").read_text()
    # an arm interrupted before its record was written is run again, alone
    (out / "arms" / "scratch_f1_s0" / "arm.json").unlink()
    label_efficiency(compose_config("label_efficiency", overrides(tiny_dataset, out)))
    assert ft.calls == 1 and pre.calls == 0
    # other settings in the same folder are refused, not mixed in
    with pytest.raises(ConfigError, match="made with other settings"):
        label_efficiency(compose_config("label_efficiency", overrides(tiny_dataset, out, steps=STEPS + 1)))


def test_an_interrupted_pretraining_resumes_from_its_last_checkpoint(sweep, tiny_dataset, tmp_path, monkeypatch, capsys):
    out = tmp_path / "le"
    shutil.copytree(sweep[0], out)
    folder = out / "pretrain" / "all"
    last = folder / "checkpoints" / "last.ckpt"
    step = int(read_checkpoint(last)["global_step"])
    (folder / "pretraining.json").unlink()  # interrupted: the record is written only when the run ends
    (out / "arms" / "pretrained_f1_s0" / "arm.json").unlink()  # an arm still needs the pretraining
    seen = []
    monkeypatch.setattr(pretrain_cli, "run", lambda cfg: (seen.append(cfg.get("ckpt_path")), real_pretrain(cfg))[1])
    again = label_efficiency(compose_config("label_efficiency", overrides(tiny_dataset, out)))
    assert seen == [str(last)]
    assert f"pretraining all: resuming the interrupted run in {folder} at step {step}" in capsys.readouterr().out
    rec = again["pretrainings"]["all"]
    assert rec["resumed_at_step"] == step == rec["steps"] and not rec["read_back"]
    assert f"resumed at step {step}" in (out / "label_efficiency.md").read_text()
    # other settings than the interrupted run's: it is removed and the pretraining starts afresh
    (folder / "pretraining.json").unlink()
    (out / "arms" / "pretrained_f1_s0" / "arm.json").unlink()
    started = json.loads((folder / "settings.json").read_text())
    (folder / "settings.json").write_text(json.dumps({**started, "seed": 99}))
    seen.clear()
    label_efficiency(compose_config("label_efficiency", overrides(tiny_dataset, out)))
    assert seen == [None] and "removing the unfinished run" in capsys.readouterr().out
    assert json.loads((folder / "settings.json").read_text()) == started


def test_plan_only_and_bad_settings(tiny_dataset, tmp_path, pretrained_ckpt, capsys):
    base = overrides(tiny_dataset, tmp_path)
    res = label_efficiency(compose_config("label_efficiency", [*base, "plan_only=true"]))
    assert res["plan"]["arms"] == ["scratch_f0.5_s0", "pretrained_f0.5_s0", "scratch_f0.5_s3", "pretrained_f0.5_s3",
                                   "scratch_f1_s0", "pretrained_f1_s0"]
    text = capsys.readouterr().out
    assert "6 arms" in text and "to run: 6 arms, 1 pretraining" in text and "estimate" in text
    res = label_efficiency(compose_config("label_efficiency", [*base, "plan_only=true", f"pretrained={pretrained_ckpt}"]))
    assert res["plan"]["pretrainings_to_run"] == []
    with pytest.raises(FileNotFoundError, match="no_such.ckpt"):
        label_efficiency(compose_config("label_efficiency", [*base, f"pretrained={tmp_path / 'no_such.ckpt'}"]))
    with pytest.raises(ConfigError, match="no arm uses it"):
        label_efficiency(compose_config("label_efficiency", [*base, "label_efficiency.inits=[scratch]",
                                                             f"pretrained={pretrained_ckpt}"]))
    with pytest.raises(ConfigError, match="label_efficiency.inits"):
        label_efficiency(compose_config("label_efficiency", [*base, "label_efficiency.inits=[scratch,x]"]))
    with pytest.raises(ConfigError, match="mode=both"):
        label_efficiency(compose_config("label_efficiency", [*base, "mode=both"]))


def test_plan_counts_the_steps_of_an_uncapped_pretraining(tiny_dataset, tmp_path, capsys):
    """Without a window cap the pretraining's steps follow from the training windows, which
    the plan counts (before: '? steps' and an estimate without the pretraining)."""
    from evpose.data import EventWindowDataset, split_recordings

    pre = [o for o in FAST if not o.startswith(("data.max_train_windows", "trainer.max_epochs"))]
    pre += ["data.max_train_windows=null", "trainer.max_epochs=3"]
    res = label_efficiency(compose_config("label_efficiency", [*overrides(tiny_dataset, tmp_path), "plan_only=true",
                                                               f"label_efficiency.pretrain={as_list(pre)}"]))
    cfg = compose_config("pretrain", [f"data.root={tiny_dataset}", *pre])
    windows = len(EventWindowDataset(split_recordings(tiny_dataset, "train"), num_events=cfg.data.num_events,
                                     min_events=cfg.data.min_events))
    assert windows > cfg.data.batch_size
    assert res["plan"]["pretrain_steps"] == 3 * -(-windows // cfg.data.batch_size)
    assert res["plan"]["estimate_s"]["complete"] and res["plan"]["estimate_s"]["pretraining"] > 0
    assert f"1 pretraining ({res['plan']['pretrain_steps']} steps each)" in capsys.readouterr().out


def test_the_ablation_pretrains_each_task_set_once(tiny_dataset, tmp_path):
    pretrain = [*FAST, "pretext=[inpaint,count]"]
    cfg = compose_config("label_efficiency", [*overrides(tiny_dataset, tmp_path, steps=2), "mode=ablation",
                                              "label_efficiency.ablation.fraction=1.0",
                                              f"label_efficiency.pretrain={as_list(pretrain)}"])
    summary = label_efficiency(cfg)
    assert sorted(p.name for p in (tmp_path / "pretrain").iterdir()) == ["all", "count", "inpaint"]
    for tag, tasks in (("inpaint", ["inpaint"]), ("count", ["count"]), ("all", ["inpaint", "count"])):
        ckpt = tmp_path / "pretrain" / tag / "checkpoints" / "last.ckpt"
        assert read_checkpoint(ckpt)["evpose"]["tasks"] == tasks
    assert [r["tasks"] for r in summary["rows"]] == ["none (scratch)", "inpaint", "count", "all (inpaint+count)"]
    assert all(len(r["seeds"]) == 1 for r in summary["rows"]) and summary["rows"][1]["verdict"]
    table = (tmp_path / "ablation.md").read_text()
    assert "| all (inpaint+count) | 1 |" in table and "label fraction 100% for every row" in table
    arm = OmegaConf.load(tmp_path / "arms" / "pretrained-count_f1_s0" / "checkpoints" / "config.yaml")
    assert Path(arm.pretrained) == tmp_path / "pretrain" / "count" / "checkpoints" / "last.ckpt"


def test_pretrained_only_overrides_reach_the_pretrained_arms_alone(tiny_dataset, tmp_path, pretrained_ckpt, monkeypatch):
    base = [*overrides(tiny_dataset, tmp_path, steps=2), "label_efficiency.fractions=[1.0]",
            "label_efficiency.repeat.fractions=[]", "label_efficiency.check.fraction=1.0", f"pretrained={pretrained_ckpt}"]
    lpft = "label_efficiency.finetune_pretrained=" + as_list(["freeze_backbone_steps=5"])
    summary = label_efficiency(compose_config("label_efficiency", [*base, lpft]))
    assert [r["name"] for r in summary["arms"]] == ["scratch_f1_s0", "pretrained_f1_s0"]
    assert summary["budget"]["finetune_pretrained_overrides"] == ["freeze_backbone_steps=5"]
    steps = {}
    for init in ("scratch", "pretrained"):
        ckpt = read_checkpoint(tmp_path / "arms" / f"{init}_f1_s0" / "checkpoints" / "last.ckpt")
        steps[init] = ckpt["hyper_parameters"]["freeze_backbone_steps"]
        settings = json.loads((tmp_path / "arms" / f"{init}_f1_s0" / "arm.json").read_text())["settings"]
        assert ("freeze_backbone_steps=5" in settings["finetune"]) == (init == "pretrained")
    assert steps == {"scratch": 0, "pretrained": 5}
    assert "pretrained arms only: freeze_backbone_steps=5" in (tmp_path / "label_efficiency.md").read_text()
    # another pretrained-only setting in the same folder: the scratch arm is read back, the
    # pretrained one refused (its settings differ), not mixed in
    ft = Counter(finetune_cli.run)
    monkeypatch.setattr(finetune_cli, "run", ft)
    other = "label_efficiency.finetune_pretrained=" + as_list(["freeze_backbone_steps=1"])
    with pytest.raises(ConfigError, match="made with other settings"):
        label_efficiency(compose_config("label_efficiency", [*base, other]))
    assert ft.calls == 0
    # a bad pretrained-only override is refused before any arm runs
    with pytest.raises(Exception, match="no_such_key"):
        label_efficiency(compose_config("label_efficiency", [*base, "label_efficiency.finetune_pretrained=[no_such_key=1]",
                                                             f"out_dir={tmp_path / 'bad'}"]))
    assert ft.calls == 0
