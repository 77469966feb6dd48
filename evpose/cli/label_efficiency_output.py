"""What `evpose-label-efficiency` prints and writes: the plan with its time estimate up
front, then (after every arm, so an interrupted run keeps its partial results) the table,
the JSON and the figure."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..evaluation.label_efficiency import ablation, mean_pose_baseline, sweep_results
from ..evaluation.label_efficiency_report import ablation_markdown, sweep_markdown
from .label_efficiency_plan import ALL


def _pct(f: float) -> str:
    return f"{100 * float(f):.3g}%"


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _min(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def describe(plan: dict, le) -> str:
    """The plan of a run: its arms, budgets, what is read back, and the time estimate."""
    est = plan["estimate_s"]
    n_pre = len(plan["pretrainings_to_run"])
    cams = "+".join(plan["multiview"]) if plan["multiview"] else "none"
    repeat = le.get("repeat") or {}
    extra = (f" ({', '.join(_pct(f) for f in repeat['fractions'])}: seeds {list(repeat['seeds'])})"
             if repeat.get("fractions") else "")
    if plan["mode"] == "sweep":
        what = (f"label fractions {', '.join(_pct(f) for f in le.fractions)} x inits {', '.join(le.inits)}; "
                f"seeds {list(le.seeds)}{extra}")
    else:
        what = (f"pretext ablation at {_pct(le.ablation.fraction)} labels, seeds {plan['seeds']}: scratch and one "
                f"pretraining per task set: {'; '.join(plan['task_sets'])}")
    lines = [
        f"evpose-label-efficiency, mode {plan['mode']}: {_n(len(plan['arms']), 'arm')} in {plan['out_dir']}",
        f"  {what}",
        f"  every arm: {le.steps} fine-tuning steps of {plan['batch_size']} windows (the same whatever the fraction), "
        f"then evpose-eval on {plan['eval_windows']} test windows, triangulation {cams}",
        f"  to run: {_n(len(plan['to_run']), 'arm')}, {_n(n_pre, 'pretraining')}"
        + (f" ({plan['pretrain_steps'] if plan['pretrain_steps'] is not None else '?'} steps each)" if n_pre else "")
        + f"; {len(plan['arms']) - len(plan['to_run'])} finished arms are read back (not recomputed)",
        f"  estimate (rates of label_efficiency.speed): each arm {_min(est['per_arm'])} (training "
        f"{_min(est['arm_train'])}, evaluation {_min(est['arm_eval'])}, start-up, graph cache and validation "
        f"{_min(est['arm_overhead'])}); arms {_min(est['arms'])}, pretraining {_min(est['pretraining'])}; "
        f"total {'about' if est['complete'] else 'at least'} {_min(est['total'])}",
    ]
    return "\n".join(lines)


def _context(records: list[dict], runner, plan: dict, le, complete: bool, wall_s: float) -> list[str]:
    cams = "+".join(plan["multiview"]) if plan["multiview"] else "none"
    lines = [
        f"data: {runner.data_root}, {runner.num_train} training recordings; a label fraction keeps that share of "
        f"them (rounded half up, at least one), drawn by the arm's seed, which also seeds its training",
        f"fine-tuning: {le.steps} optimisation steps of {plan['batch_size']} windows per arm whatever the fraction "
        f"(epochs unbounded, the learning-rate schedule spans the {le.steps} steps); the weights after the last "
        f"step are evaluated, no checkpoint selection",
        f"evaluation: evpose-eval on {plan['eval_windows']} test windows, triangulation {cams}",
    ]
    if runner.pretrained_overrides:
        lines.append(f"pretrained arms only: {' '.join(runner.pretrained_overrides)} (overrides of conf/finetune.yaml)")
    for tag, p in runner.pretrainings.items():
        tasks = ", ".join(p.get("tasks") or ["?"])
        if p.get("given"):
            lines.append(f"pretraining {tag}: the given checkpoint {p['checkpoint']} (tasks {tasks})")
        else:
            resumed = p.get("resumed_at_step")
            lines.append(f"pretraining {tag}: tasks {tasks}, {p['steps']} steps, {_min(p['seconds'])}"
                         + (f" (resumed at step {resumed}: the time is that of the resumed part)" if resumed is not None else "")
                         + (" (read back)" if p.get("read_back") else "") + f"; overrides of conf/pretrain.yaml: {' '.join(p['settings']['overrides']) or 'none'}")
    off = sorted({r["steps"] for r in records} - {int(le.steps)})
    if off:
        lines.append(f"WARNING: arms ended at other step counts {off} than the budget {le.steps}")
    state = "all" if complete else "partial"
    lines.append(f"arms: {len(records)} of {len(plan['arms'])} ({state})")
    back = [r["name"] for r in records if r.get("read_back")]
    if back:
        lines.append(f"read back from {plan['out_dir']} (finished earlier, not recomputed): {len(back)} arms")
    arm_s = sum(r["seconds"]["finetune"] + r["seconds"]["eval"] for r in records)
    pre_s = sum(p.get("seconds", 0.0) for p in runner.pretrainings.values())
    lines.append(f"time: pretraining {_min(pre_s)}, arms {_min(arm_s)} ({_min(arm_s / max(1, len(records)))} per arm), "
                 f"{_min(pre_s + arm_s)} in all; this invocation {_min(wall_s)}")
    return lines


def _common(records, runner, plan, le, complete, wall_s) -> dict:
    return {"mode": plan["mode"], "complete": complete, "out_dir": plan["out_dir"], "data_root": runner.data_root,
            "budget": {"finetune_steps": int(le.steps), "batch_size": plan["batch_size"],
                       "evaluated_checkpoint": "last (after the whole budget)", "eval_windows": plan["eval_windows"],
                       "multiview": plan["multiview"], "finetune_overrides": runner.finetune_overrides,
                       "finetune_pretrained_overrides": runner.pretrained_overrides,
                       "eval_overrides": runner.eval_overrides},
            "pretrainings": runner.pretrainings, "read_back": [r["name"] for r in records if r.get("read_back")],
            "wall_s": wall_s, "arms": records}


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_sweep(out: Path, records: list[dict], runner, plan: dict, le, complete: bool, wall_s: float) -> dict:
    """Write ``label_efficiency.md``, ``.json`` and ``.png`` of the arms so far; returns the
    summary (the JSON's content, plus ``markdown``)."""
    from ..viz import plot_label_efficiency

    check = le.check
    results = sweep_results(records, float(check.fraction), float(check.cut), float(check.within))
    md = sweep_markdown(results, _context(records, runner, plan, le, complete, wall_s))
    summary = {**_common(records, runner, plan, le, complete, wall_s), **results}
    _write(out / "label_efficiency.md", md + "\n")
    _write(out / "label_efficiency.json", json.dumps(summary, indent=2, allow_nan=True) + "\n")
    fig = plot_label_efficiency(results, title="test MPJPE 2D vs labels; error bars: std over seeds")
    fig.savefig(out / "label_efficiency.png", dpi=130)
    return {**summary, "markdown": md}


def write_ablation(out: Path, records: list[dict], runner, plan: dict, le, complete: bool, wall_s: float) -> dict:
    """Write ``ablation.md`` and ``.json`` of the arms so far; returns the summary."""
    rows = ablation(records)
    for r in rows:
        if r["tasks"] == ALL:
            r["tasks"] = f"all ({'+'.join(plan['all_tasks'])})"
    base = mean_pose_baseline(records)
    context = [f"label fraction {_pct(le.ablation.fraction)} for every row",
               *_context(records, runner, plan, le, complete, wall_s)]
    md = ablation_markdown(rows, base, context)
    summary = {**_common(records, runner, plan, le, complete, wall_s), "fraction": float(le.ablation.fraction),
               "rows": rows, "baseline": base}
    _write(out / "ablation.md", md + "\n")
    _write(out / "ablation.json", json.dumps(summary, indent=2, allow_nan=True) + "\n")
    return {**summary, "markdown": md}
