"""One default per value: every evpose object a command builds from config has constructor
defaults equal to the shipped config's values, so code (and tests) that rely on the defaults
build the model that ``make demo`` trains.

Each command's config is composed as the command sees it; for every ``_target_`` node naming
an evpose class or function, each argument the node sets that has a default in the target's
signature must equal that default (tuples and lists compare alike; a nested ``_target_`` node
against a default class or function compares by target), unless :data:`EXCEPTIONS` lists it
with its reason. Third-party targets (Lightning, torch) keep their own defaults.
"""

from __future__ import annotations

import inspect

import pytest
from hydra.utils import _locate
from omegaconf import DictConfig, ListConfig, OmegaConf

from evpose.cli.compose import compose_config

COMMANDS = ("pretrain", "finetune", "eval", "predict", "synth", "convert_dhp19", "label_efficiency")

#: (target, argument): why the shipped config sets another value than the code's default.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("evpose.data.EventDataModule", "labels"):
        "pretrain.yaml turns pose labels off (pretraining needs none); the data module keeps them by default",
    ("evpose.data.EventDataModule", "max_train_windows"):
        "a CPU-demo cap of the demo preset (and pretrain.yaml's); the data module uses every window by default",
    ("evpose.data.EventDataModule", "max_eval_windows"):
        "a per-dataset cap (demo 240, full 2000, DHP19 4000); the data module evaluates every window by default",
    ("evpose.data.EventDataModule", "num_workers"):
        "loader processes depend on the machine (demo 1, full and DHP19 4); the data module loads in-process by default",
    ("evpose.data.EventDataModule", "cache"):
        "finetune.yaml caches the deterministic graphs; pretraining corrupts each window afresh and cannot",
    ("evpose.data.EventDataModule", "cache_workers"): "finetune.yaml's graph cache (see cache)",
    ("evpose.data.EventDataModule", "cache_in_memory"): "finetune.yaml's graph cache (see cache)",
    ("evpose.io.dhp19.DHP19Converter", "filters"):
        "None stands for DHP19Filters() with its defaults; the config spells them out (checked against DHP19Filters)",
}


def _same(value, default) -> bool:
    if isinstance(value, dict) and "_target_" in value and (inspect.isclass(default) or callable(default)):
        return _locate(value["_target_"]) is default
    if isinstance(default, (tuple, list)) and isinstance(value, (tuple, list)):
        return len(value) == len(default) and all(_same(v, d) for v, d in zip(value, default))
    return value == default and type(value) is not bool or value is default


def target_nodes(node, path: str):
    """``(path, node)`` of every node with an evpose ``_target_`` under ``node``."""
    if isinstance(node, DictConfig):
        if str(node.get("_target_", "")).startswith("evpose."):
            yield path, node
        for key in node.keys():
            child = node._get_node(key)
            if isinstance(child, (DictConfig, ListConfig)):
                yield from target_nodes(node[key], f"{path}.{key}")
    elif isinstance(node, ListConfig):
        for i in range(len(node)):
            if isinstance(node._get_node(i), (DictConfig, ListConfig)):
                yield from target_nodes(node[i], f"{path}[{i}]")


def mismatches(cfg: DictConfig, command: str) -> list[str]:
    out = []
    for path, node in target_nodes(cfg, command):
        target = _locate(node._target_)
        signature = inspect.signature(target.__init__ if inspect.isclass(target) else target)
        values = OmegaConf.to_container(node, resolve=True)
        for name, param in signature.parameters.items():
            if param.default is inspect.Parameter.empty or name not in values:
                continue
            if (node._target_, name) in EXCEPTIONS:
                continue
            if not _same(values[name], param.default):
                out.append(f"{path}.{name}: config {values[name]!r}, {node._target_} default {param.default!r}")
    return out


@pytest.mark.parametrize("command", COMMANDS)
def test_code_defaults_equal_the_shipped_config(command, tmp_path):
    cfg = compose_config(command, [f"paths.output_dir={tmp_path}"])
    problems = mismatches(cfg, command)
    assert not problems, "code defaults differ from the config:\n" + "\n".join(problems)


def test_every_command_builds_evpose_objects_checked_here(tmp_path):
    """The check sees the objects (a config without targets would pass vacuously)."""
    seen = {node._target_ for c in ("pretrain", "finetune") for _, node in
            target_nodes(compose_config(c, [f"paths.output_dir={tmp_path}"]), c)}
    assert {"evpose.graph.EventGraphTransform", "evpose.models.RefinementStack", "evpose.models.GraphHourglass",
            "evpose.tasks.Joints2DTask", "evpose.tasks.Joints3DTask", "evpose.tasks.PartsTask", "evpose.pretext.InpaintTask",
            "evpose.data.EventDataModule"} <= seen


def test_a_differing_default_is_found(tmp_path):
    cfg = compose_config("pretrain", [f"paths.output_dir={tmp_path}", "graph.r=3.0", "model.backbone.radii=[3.0,16.0,32.0]",
                                      "pretext_tasks.count.cell_us=2000"])
    found = mismatches(cfg, "pretrain")
    assert any(m.startswith("pretrain.graph.r: config 3.0") for m in found)
    assert any(m.startswith("pretrain.model.backbone.radii:") for m in found)
    assert any(m.startswith("pretrain.pretext_tasks.count.cell_us: config 2000") for m in found)


def test_exceptions_name_real_arguments():
    for target, name in EXCEPTIONS:
        fn = _locate(target)
        assert name in inspect.signature(fn.__init__ if inspect.isclass(fn) else fn).parameters, (target, name)
