"""`evpose-label-efficiency`: does self-supervised pretraining pay when labels are scarce?
(conf/label_efficiency.yaml, conf/experiment/label_efficiency.yaml)

``mode=sweep`` (default): fine-tuning from scratch and from one shared pretraining at every
label fraction, with several seeds where asked, every arm with the same number of
optimisation steps, each evaluated with ``evpose-eval``; writes ``label_efficiency.md``,
``.json`` and ``.png`` (error against label fraction). ``mode=ablation``: one pretraining
per pretext task set (each task alone, then all), each fine-tuned at one label fraction
with the same seeds, next to scratch; writes ``ablation.md`` and ``.json``.

The run folder holds ``pretrain/<tasks>/`` and ``arms/<arm>/``; a finished pretraining
(``pretraining.json``) or arm (``arm.json`` beside its ``eval/eval.json``) is read back,
not recomputed, so ``out_dir=<an earlier run's folder>`` continues an interrupted run (and
a sweep and an ablation in one folder share their common arms); an interrupted pretraining
resumes from its ``last.ckpt`` when its settings (``settings.json``) are the same.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ..errors import ConfigError
from . import _hydra
from .compose import compose_config
from .errors import one_line_errors
from .label_efficiency_plan import (
    ALL,
    MODES,
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


def _write_json(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, allow_nan=True) + "\n")
    os.replace(tmp, path)


def _plain(node) -> list | dict:
    return OmegaConf.to_container(node, resolve=True) if node is not None else []


def budget_overrides(steps: int, validate_every: int | None) -> list[str]:
    """The fine-tuning overrides of an equal step budget: ``steps`` optimisation steps
    whatever the size of the labelled set (epochs unbounded, the schedule spans the steps),
    validated every ``validate_every`` steps (None, or more than ``steps``: once, at the end;
    it must divide ``steps``, so that the last checkpoint holds the weights after the last step)."""
    if int(steps) < 1:
        raise ConfigError(f"label_efficiency.steps must be at least 1, got {steps}")
    every = min(int(validate_every or steps), int(steps))
    if int(steps) % every:  # last.ckpt is written at a validation: the last one must be at the last step
        raise ConfigError(f"label_efficiency.validate_every={validate_every} must divide label_efficiency.steps={steps}")
    return ["trainer.max_epochs=-1", f"trainer.max_steps={int(steps)}", "trainer.check_val_every_n_epoch=null",
            f"trainer.val_check_interval={every}"]


class LabelEfficiencyRun:
    """The pretrainings and arms of one run folder, each run once and read back after."""

    def __init__(self, cfg: DictConfig, out: Path):
        from ..data.manifest import split_recordings

        self.cfg, self.le, self.out = cfg, cfg.label_efficiency, out
        self.data_root = str(Path(str(cfg.data_root)).resolve())
        self.num_train = len(split_recordings(self.data_root, "train"))
        self.budget = budget_overrides(self.le.steps, self.le.get("validate_every"))
        self.finetune_overrides = [*self.budget, *_plain(self.le.finetune)]
        # the pretrained arms' own overrides, after the shared ones (e.g. freeze_backbone_steps=300);
        # none: a pretrained arm's settings are those of a run made before this option
        self.pretrained_overrides = list(_plain(self.le.get("finetune_pretrained")))
        self.eval_overrides = list(_plain(self.le.eval))
        self.given = str(cfg.pretrained) if cfg.get("pretrained") is not None else None
        self.pretrainings: dict[str, dict] = {}
        self.read_back: list[str] = []

    # ------------------------------------------------------------------ pretraining
    def pretrain_dir(self, tag: str) -> Path:
        return self.out / "pretrain" / tag

    def pretrain_source(self, tag: str) -> str:
        """How an arm names its pretraining: the given checkpoint, or ``pretrain/<tag>``."""
        return self.given if tag == ALL and self.given else f"pretrain/{tag}"

    def pretraining(self, tag: str, tasks: list[str]) -> dict:
        """The pretraining of ``tasks`` (run now, read back, or the given checkpoint)."""
        from ..modules.checkpoints import read_checkpoint
        from . import pretrain as pretrain_cli

        if tag in self.pretrainings:
            return self.pretrainings[tag]
        if tag == ALL and self.given:
            meta = read_checkpoint(self.given).get("evpose", {})  # a pretraining (or fine-tuning) checkpoint
            rec = {"checkpoint": self.given, "tasks": meta.get("tasks"), "given": True}
            if self.cfg.mode == "ablation" and rec["tasks"] != tasks:
                raise ConfigError(f"pretrained={self.given}: pretrained with {rec['tasks']}, but the ablation's "
                                  f"'all' task set is {tasks}")
            self.pretrainings[tag] = rec
            return rec
        folder = self.pretrain_dir(tag)
        settings = {"data_root": self.data_root, "seed": int(self.cfg.seed), "tasks": tasks,
                    "overrides": list(_plain(self.le.pretrain))}
        done = folder / "pretraining.json"
        if done.exists():
            rec = json.loads(done.read_text())
            _same_settings(rec["settings"], settings, folder)
            print(f"pretraining {tag}: read back from {folder} (finished earlier, not recomputed)")
            rec["read_back"] = True
        else:
            resume, before = self._unfinished(tag, folder, settings)
            print(f"\n=== pretraining {tag}: tasks {', '.join(tasks)} ===", flush=True)
            t0 = time.perf_counter()
            res = pretrain_cli.run(compose_config("pretrain", [
                f"seed={self.cfg.seed}", f"data.root={self.data_root}", *settings["overrides"],
                f"pretext=[{','.join(tasks)}]", f"paths.output_dir={folder}",
                *([f"ckpt_path={resume}"] if resume is not None else [])]))
            rec = {"checkpoint": res["last"], "tasks": tasks, "settings": settings,
                   "steps": int(read_checkpoint(res["last"])["global_step"]), "seconds": time.perf_counter() - t0}
            if resume is not None:  # the time of this part only: the interrupted part's is not known
                rec["resumed_at_step"] = before
            _write_json(done, rec)
            rec["read_back"] = False
        self.pretrainings[tag] = rec
        return rec

    @staticmethod
    def _unfinished(tag: str, folder: Path, settings: dict) -> tuple[Path | None, int | None]:
        """Prepare ``folder`` for a pretraining not finished yet: an interrupted run with the
        same settings (``settings.json``, written as it starts) resumes from its ``last.ckpt``
        (returned with its step); anything else there is removed and the run starts afresh."""
        from ..modules.checkpoints import read_checkpoint

        started, last = folder / "settings.json", folder / "checkpoints" / "last.ckpt"
        if folder.exists():
            same = started.is_file() and json.loads(started.read_text()) == settings
            if same and last.is_file():
                step = int(read_checkpoint(last, kind="pretrain")["global_step"])
                print(f"pretraining {tag}: resuming the interrupted run in {folder} at step {step}")
                return last, step
            why = ("no settings.json" if not started.is_file() else "made with other settings" if not same
                   else "no checkpoint to resume from")
            print(f"pretraining {tag}: removing the unfinished run in {folder} ({why})")
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        _write_json(started, settings)
        return None, None

    # ------------------------------------------------------------------ arms
    def arm_finetune_overrides(self, arm: Arm) -> list[str]:
        return arm_finetune_overrides(arm, self.finetune_overrides, self.pretrained_overrides)

    def arm_settings(self, arm: Arm) -> dict:
        return {"data_root": self.data_root, "init": arm.init, "fraction": arm.fraction, "seed": arm.seed,
                "pretraining": None if arm.tasks is None else self.pretrain_source(arm.tasks),
                "finetune": self.arm_finetune_overrides(arm), "eval": self.eval_overrides}

    def is_done(self, arm: Arm) -> bool:
        return (self.out / "arms" / arm.name / "arm.json").exists()

    def arm(self, arm: Arm, tasks: list[str] | None) -> dict:
        """The record of an arm: read back when finished earlier, else fine-tuned and evaluated."""
        from ..data.label_fraction import label_subset_size
        from ..evaluation.label_efficiency import arm_metrics
        from ..modules.checkpoints import read_checkpoint
        from . import eval as eval_cli
        from . import finetune as finetune_cli

        folder = self.out / "arms" / arm.name
        settings = self.arm_settings(arm)
        done = folder / "arm.json"
        if done.exists():
            stored = json.loads(done.read_text())
            _same_settings(stored["settings"], settings, folder)
            metrics, baseline = arm_metrics(json.loads((folder / "eval" / "eval.json").read_text()))
            self.read_back.append(arm.name)
            return {**stored["record"], "metrics": metrics, "baseline": baseline, "read_back": True}
        if folder.exists():
            print(f"arm {arm.name}: removing the unfinished run in {folder}")
            shutil.rmtree(folder)
        pre = self.pretraining(arm.tasks, tasks) if arm.tasks is not None else None
        print(f"\n=== arm {arm.name} ===", flush=True)
        t0 = time.perf_counter()
        ft = finetune_cli.run(compose_config("finetune", [
            f"seed={arm.seed}", f"data.root={self.data_root}", *self.arm_finetune_overrides(arm),
            f"data.label_fraction={arm.fraction}", f"pretrained={pre['checkpoint'] if pre else 'none'}",
            f"paths.output_dir={folder}"]))
        t1 = time.perf_counter()
        ckpt = ft["last"]  # the weights after the whole budget: no selection on the validation split
        report = eval_cli.run(compose_config("eval", [
            f"ckpt_path={ckpt}", f"data_root={self.data_root}", *self.eval_overrides, f"out_dir={folder / 'eval'}",
            "plots=false", f"paths.output_dir={folder / 'eval'}"]))
        metrics, baseline = arm_metrics(report)
        record = {"name": arm.name, "init": arm.init, "tasks": arm.tasks,
                  "pretext": None if pre is None else pre["tasks"], "fraction": arm.fraction, "seed": arm.seed,
                  "recordings": label_subset_size(self.num_train, arm.fraction), "of_recordings": self.num_train,
                  "steps": int(read_checkpoint(ckpt)["global_step"]), "checkpoint": ckpt,
                  "seconds": {"finetune": t1 - t0, "eval": time.perf_counter() - t1}}
        _write_json(done, {"record": record, "settings": settings})
        return {**record, "metrics": metrics, "baseline": baseline, "read_back": False}


def _same_settings(stored: dict, now: dict, folder: Path) -> None:
    diff = sorted(k for k in set(stored) | set(now) if stored.get(k) != now.get(k))
    if diff:
        detail = "; ".join(f"{k}: {stored.get(k)!r} then, {now.get(k)!r} now" for k in diff)
        raise ConfigError(f"{folder} was made with other settings ({detail}); continue it with the same "
                          f"settings or start a new out_dir")


def train_windows(data_cfg: DictConfig) -> int:
    """The training windows of a run's config (its data settings, every window: no cap),
    counted from the recordings' indexes; no graph is built."""
    dm = instantiate(data_cfg.data, transform=None)
    dm.prepare_data()
    return len(dm.dataset("train"))


def run(cfg: DictConfig) -> dict:
    """Plan, run (or read back) and tabulate a label-efficiency sweep or ablation; returns
    the summary written to ``label_efficiency.json`` (``ablation.json``)."""
    from .label_efficiency_output import describe, write_ablation, write_sweep

    out = Path(str(cfg.out_dir)).resolve()  # first: it may name Hydra's run folder
    le = cfg.label_efficiency
    if cfg.mode not in MODES:
        raise ConfigError(f"mode={cfg.mode}; valid: {', '.join(MODES)}")
    pre_cfg = compose_config("pretrain", [f"data.root={cfg.data_root}", *_plain(le.pretrain)])
    all_tasks = list(pre_cfg.pretext)
    if cfg.mode == "sweep":
        arms = plan_sweep(le.fractions, le.inits, le.seeds, _plain(le.get("repeat")),
                          first=(float(le.check.fraction), 1.0))
        sets = {ALL: all_tasks} if any(a.tasks for a in arms) else {}
        seeds = None
    else:
        fraction = float(le.ablation.fraction)
        sets = {task_tag(s, all_tasks): s for s in ablation_task_sets(all_tasks, _plain(le.ablation.get("task_sets")))}
        seeds = seeds_for(fraction, le.seeds, _plain(le.get("repeat")))
        arms = plan_ablation(fraction, seeds, list(sets))
    if cfg.get("pretrained") is not None:
        if ALL not in sets:
            raise ConfigError("pretrained= is the checkpoint of the all-task pretraining, but no arm uses it")
        if not Path(str(cfg.pretrained)).is_file():
            raise FileNotFoundError(f"pretrained={cfg.pretrained}: no such checkpoint file")
    runner = LabelEfficiencyRun(cfg, out)
    out.mkdir(parents=True, exist_ok=True)
    ft_cfg = compose_config("finetune", [f"data.root={runner.data_root}", *runner.finetune_overrides])
    if runner.pretrained_overrides:  # refused now, not after the scratch arms
        compose_config("finetune", [f"data.root={runner.data_root}", *runner.finetune_overrides,
                                    *runner.pretrained_overrides])
    ev_cfg = compose_config("eval", ["ckpt_path=none", *runner.eval_overrides])
    todo = [a for a in arms if not runner.is_done(a)]
    pending = [t for t in sets if not (t == ALL and runner.given) and any(a.tasks == t for a in todo)
               and not (runner.pretrain_dir(t) / "pretraining.json").exists()]
    windows = pre_cfg.data.max_train_windows
    if windows is None and pending:  # every training window: count them (the estimate needs the steps)
        windows = train_windows(pre_cfg)
    steps_pre = pretraining_steps(pre_cfg.trainer.max_steps, pre_cfg.trainer.max_epochs, windows,
                                  pre_cfg.data.batch_size)
    est = estimate(len(todo), int(le.steps), int(ev_cfg.max_windows or 0), [steps_pre] * len(pending), le.speed)
    plan = {"mode": cfg.mode, "out_dir": str(out), "arms": [a.name for a in arms], "to_run": [a.name for a in todo],
            "pretrainings_to_run": pending, "estimate_s": est, "batch_size": int(ft_cfg.data.batch_size),
            "pretrain_steps": steps_pre, "all_tasks": all_tasks, "seeds": seeds,
            "task_sets": [f"{t} ({'+'.join(v)})" if t == ALL else t for t, v in sets.items()],
            "eval_windows": ev_cfg.max_windows, "multiview": _plain(ev_cfg.multiview)}
    print(describe(plan, le))
    if cfg.get("plan_only"):
        return {"plan": plan}
    for tag, tasks in sets.items():  # pretrainings already there: stated in the table even if no arm needs them now
        if (tag == ALL and runner.given) or (runner.pretrain_dir(tag) / "pretraining.json").exists():
            runner.pretraining(tag, tasks)
    t_start = time.perf_counter()
    records, spent = [], []
    for k, arm in enumerate(arms, 1):
        rec = runner.arm(arm, sets.get(arm.tasks) if arm.tasks else None)
        records.append(rec)
        if not rec["read_back"]:  # fine-tuning and evaluation, not a pretraining run on the way
            spent.append(rec["seconds"]["finetune"] + rec["seconds"]["eval"])
        left = sum(1 for a in arms[k:] if not runner.is_done(a))
        pre_left = sum(1 for t in pending if t not in runner.pretrainings) * est["pretraining"] / max(1, len(pending))
        eta = f"; about {(left * sum(spent) / len(spent) + pre_left) / 60:.0f} min left" if spent and left else ""
        how = "read back" if rec["read_back"] else f"{spent[-1] / 60:.1f} min"
        m = rec["metrics"]
        print(f"[{k}/{len(arms)}] {arm.name}: MPJPE 2D {m['mpjpe2d_px']:.2f} px, 3D {m['mpjpe3d_mm']:.1f} mm, "
              f"triangulated {m['triangulated_mm']:.1f} mm ({how}){eta}", flush=True)
        write = write_sweep if cfg.mode == "sweep" else write_ablation
        summary = write(out, records, runner, plan, le, complete=k == len(arms),
                        wall_s=time.perf_counter() - t_start)
    print("\n" + summary["markdown"])
    return summary


@hydra.main(version_base="1.3", config_path=_hydra.CONFIG_PATH, config_name="label_efficiency")
@one_line_errors("evpose-label-efficiency")
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
