"""The arms of a label-efficiency run (which fine-tunings, from which pretraining, with which
seeds) and the time they are expected to take. Pure: no training here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

from ..errors import ConfigError

INITS = ("scratch", "pretrained")
MODES = ("sweep", "ablation")
#: The tag of the pretraining on every task of the pretraining config's ``pretext`` list.
ALL = "all"


@dataclass(frozen=True)
class Arm:
    """One fine-tuning run and its evaluation.

    Args:
        init: ``scratch`` or ``pretrained``.
        fraction: share of the labelled training recordings.
        seed: seed of the run: the labelled recordings it draws and the training.
        tasks: tag of the pretraining it starts from (``all``, a task name or names joined
            by ``+``); None from scratch.
    """

    init: str
    fraction: float
    seed: int
    tasks: str | None = None

    @property
    def name(self) -> str:
        """Its folder name: ``scratch_f0.1_s0``, ``pretrained_f0.1_s0`` (all tasks) or
        ``pretrained-inpaint_f0.1_s0``; the same arm has the same name in both modes, so
        a sweep and an ablation in one folder share their arms."""
        head = self.init if self.tasks in (None, ALL) else f"{self.init}-{self.tasks}"
        return f"{head}_f{self.fraction:g}_s{self.seed}"


def arm_finetune_overrides(arm: Arm, shared: Sequence[str], pretrained_only: Sequence[str] = ()) -> list[str]:
    """The overrides of conf/finetune.yaml an arm adds to its seed, data, fraction, pretraining
    and folder: ``shared`` (``label_efficiency.finetune`` after the step budget), then, for a
    pretrained arm only, ``pretrained_only`` (``label_efficiency.finetune_pretrained``)."""
    return [*shared, *(pretrained_only if arm.init == "pretrained" else ())]


def task_tag(tasks: Sequence[str], all_tasks: Sequence[str]) -> str:
    """``all`` for the whole task list, else the names joined by ``+``."""
    return ALL if list(tasks) == list(all_tasks) else "+".join(tasks)


def seeds_for(fraction: float, seeds: Sequence[int], repeat: Mapping | None = None) -> list[int]:
    """The seeds of a fraction: ``repeat["seeds"]`` when it is one of ``repeat["fractions"]``,
    else ``seeds``."""
    repeat = repeat or {}
    if any(math.isclose(float(f), float(fraction), rel_tol=1e-9) for f in repeat.get("fractions") or ()):
        return [int(s) for s in repeat["seeds"]]
    return [int(s) for s in seeds]


def _check(fractions: Sequence[float], seeds: Sequence[int], repeat: Mapping | None) -> None:
    if not fractions:
        raise ConfigError("label_efficiency.fractions is empty")
    bad = [f for f in fractions if not 0.0 < float(f) <= 1.0]
    if bad:
        raise ConfigError(f"label_efficiency.fractions: {bad} not in (0, 1]")
    if not seeds:
        raise ConfigError("label_efficiency.seeds is empty")
    if (repeat or {}).get("fractions") and not repeat.get("seeds"):
        raise ConfigError("label_efficiency.repeat.seeds is empty")


def _order(fractions: Sequence[float], first: Sequence[float]) -> list[float]:
    """The fractions with ``first`` (those present) in front, then the rest ascending."""
    fr = [float(f) for f in dict.fromkeys(float(f) for f in fractions)]
    head: list[float] = []
    for f in first:  # once each: the check's fraction may be 1.0 too
        if any(math.isclose(f, g) for g in fr) and not any(math.isclose(f, h) for h in head):
            head.append(f)
    return [*head, *sorted(f for f in fr if not any(math.isclose(f, h) for h in head))]


def plan_sweep(fractions: Sequence[float], inits: Sequence[str], seeds: Sequence[int], repeat: Mapping | None = None,
               first: Sequence[float] = (0.1, 1.0)) -> list[Arm]:
    """Every (fraction, init, seed) arm, the seeds of a fraction by :func:`seeds_for` (``repeat``:
    ``{"fractions": [...], "seeds": [...]}``). The fractions of ``first`` run first (so an
    interrupted run has the checks' arms), then the rest ascending; scratch before
    pretrained at each seed.

    Raises:
        ConfigError: an unknown init, an empty or out-of-range fraction list, no seeds.
    """
    unknown = [i for i in inits if i not in INITS]
    if unknown or not inits:
        raise ConfigError(f"label_efficiency.inits: {list(inits)}; valid: {', '.join(INITS)}")
    _check(fractions, seeds, repeat)
    arms = []
    for f in _order(fractions, first):
        for s in seeds_for(f, seeds, repeat):
            arms += [Arm(i, f, s, ALL if i == "pretrained" else None) for i in INITS if i in inits]
    return arms


def ablation_task_sets(all_tasks: Sequence[str], task_sets: Sequence[Sequence[str]] | None = None) -> list[list[str]]:
    """The pretrainings of the ablation: ``task_sets``, or each task of ``all_tasks`` alone
    and then all of them."""
    if task_sets:
        sets = [list(t) for t in task_sets]
    else:
        sets = [[t] for t in all_tasks] + ([list(all_tasks)] if len(all_tasks) > 1 else [])
    if any(not t for t in sets):
        raise ConfigError(f"label_efficiency.ablation.task_sets holds an empty task set: {sets}")
    return sets


def plan_ablation(fraction: float, seeds: Sequence[int], task_tags: Sequence[str]) -> list[Arm]:
    """Scratch and one pretrained arm per task set, each with every seed, at one fraction."""
    _check([fraction], seeds, None)
    arms = [Arm("scratch", float(fraction), int(s)) for s in seeds]
    for tag in task_tags:
        arms += [Arm("pretrained", float(fraction), int(s), tag) for s in seeds]
    return arms


def pretraining_steps(max_steps: int, max_epochs: int, max_train_windows: int | None, batch_size: int) -> int | None:
    """The optimisation steps of a pretraining config, or None when its windows per epoch
    are not capped (then they depend on the dataset)."""
    if max_steps is not None and max_steps > 0:
        return int(max_steps)
    if max_train_windows is None or max_epochs is None or max_epochs < 0:
        return None
    return int(max_epochs) * math.ceil(int(max_train_windows) / int(batch_size))


def estimate(n_arms: int, steps: int, eval_windows: int, pretrain_steps: Sequence[int | None],
             speed: Mapping) -> dict:
    """Expected seconds of the run: per arm (training, evaluation, start-up), all arms,
    the pretrainings and the total, from the rates in ``speed`` (``finetune_steps_per_s``,
    ``eval_windows_per_s``, ``arm_overhead_s``, ``pretrain_steps_per_s``). A pretraining
    of unknown length counts as None and leaves the total a lower bound (``complete``)."""
    train = steps / float(speed["finetune_steps_per_s"])
    ev = eval_windows / float(speed["eval_windows_per_s"])
    per_arm = train + ev + float(speed["arm_overhead_s"])
    pre = [None if s is None else s / float(speed["pretrain_steps_per_s"]) for s in pretrain_steps]
    known = sum(p for p in pre if p is not None)
    return {"arm_train": train, "arm_eval": ev, "arm_overhead": float(speed["arm_overhead_s"]), "per_arm": per_arm,
            "arms": n_arms * per_arm, "pretraining": known, "total": n_arms * per_arm + known,
            "complete": all(p is not None for p in pre)}
