"""Reading evpose checkpoints with clear errors (not an evpose file, wrong kind, wrong shapes).

A checkpoint is data, never code: it is unpickled with ``torch.load(weights_only=True)``
(tensors, plain Python values and the few types of :data:`SAFE_GLOBALS`), and the specs it
carries to rebuild the network must name evpose's own classes (:mod:`evpose.modules.build`),
checked before anything is built.

Checkpoints of an older format are brought up to date as they are read
(:func:`upgrade_hyperparameters`, :func:`upgrade_state_dict`):

- format 1 (evpose before the node input spec) kept the backbone's ``in_channels`` in its
  spec; format 2 keeps ``input_spec`` (the node feature layout,
  :class:`evpose.data.NodeInputSpec`) and the width follows from it;
- format 3 (the pretext task contract: encoder and head) keeps a pretext head's network
  inside the head module, e.g. inpainting's query decoder under ``heads.inpaint.decoder.``
  where format 2 had it under ``heads.inpaint.``; :func:`upgrade_head_weights` moves the
  weights of older files (the hyperparameters, the task specs, are unchanged);
- format 4 (one module, :class:`~evpose.modules.TaskModule`, for pretraining and fine-tuning:
  a backbone and an ordered list of tasks) keeps the backbone under ``net.backbone.`` and each
  task's head under ``net.heads.<task>.``. A pretraining file before it had them under
  ``backbone.`` and ``heads.<task>.`` (its hyperparameters are format 4's already); a
  fine-tuning file had a ``net`` spec (an ``evpose.models.PoseNet``: the backbone spec and the
  pose head options), ``loss_weights``, ``joint_loss_kind`` and ``heatmap_sigma_px``, which
  become the ``backbone`` spec and the ``joints2d``, ``joints3d`` (unless ``joints3d: false``)
  and ``parts`` (unless ``num_parts: 0``) task specs, and weights under
  ``net.joints2d.<stage>.``, ``net.joints3d.<stage>.``, ``net.parts.<stage>.``, which move to
  ``net.heads.<task>.stages.<stage>.``. Anything of such a file the conversion does not know
  is a :class:`CheckpointError` naming it.
"""

from __future__ import annotations

import inspect
import logging
import os
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..data.node_inputs import NodeInputSpec
from ..errors import EvposeInputError
from ..types import ROOT_JOINTS
from .build import TargetError, check_spec

log = logging.getLogger(__name__)

CHECKPOINT_KINDS = ("pretrain", "finetune")
#: Version of the checkpoint contents written by evpose's modules (see the module docstring).
CHECKPOINT_FORMAT = 4
#: Types beyond tensors and plain values that evpose and Lightning checkpoints may hold
#: (``torch.load(weights_only=True)`` refuses everything else). Checkpoints written by
#: evpose's modules with the shipped callbacks and loggers need none.
SAFE_GLOBALS: tuple = ()
#: Hyperparameters that are kept for the record and never built (the whole run configuration).
UNBUILT_HPARAMS = ("config",)
#: The pose network class of fine-tuning checkpoints before format 4 (converted, never built).
LEGACY_POSE_NET = "evpose.models.PoseNet"


class CheckpointError(EvposeInputError, ValueError):
    """A checkpoint that evpose cannot use, with the file and the reason."""


def read_checkpoint(path, kind: str | tuple[str, ...] | None = None) -> dict[str, Any]:
    """Load an evpose Lightning checkpoint on the CPU and check what it is.

    Args:
        path: ``.ckpt`` file.
        kind: accepted kind(s): ``"pretrain"``, ``"finetune"`` (default: either).

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not a checkpoint, one whose pickle names anything but tensors and
            plain values, one whose specs name a class evpose does not build (the message
            names the file and the entry), not an evpose one, or one of another kind.
    """
    ckpt = read_checkpoint_data(path)
    meta = ckpt.get("evpose")
    if not isinstance(meta, dict) or meta.get("kind") not in CHECKPOINT_KINDS:
        raise CheckpointError(
            f"{path}: not an evpose checkpoint (no 'evpose' entry); make one with evpose-pretrain or evpose-finetune"
        )
    _check_kind(path, meta, kind)
    return ckpt


def read_checkpoint_data(path, upgrade: bool = True) -> dict[str, Any]:
    """A Lightning checkpoint as plain data: unpickled with ``weights_only=True`` and its
    specs checked (:func:`evpose.modules.build.check_spec`), whoever wrote it; with
    ``upgrade`` (the default) its hyperparameters in today's format (:func:`upgrade_hyperparameters`).

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: unreadable, not a Lightning checkpoint, a pickle that would run
            code, or a spec naming something evpose does not build.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    try:
        with torch.serialization.safe_globals(list(SAFE_GLOBALS)):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle, zip and torch errors all mean "not a readable checkpoint"
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(e))
        if found:  # the restricted unpickler met a callable or class it does not allow: code
            raise CheckpointError(
                f"{path}: refused: the checkpoint holds more than tensors and plain values (its pickle calls "
                f"{found.group(1)}); evpose never runs code from a checkpoint"
            ) from None
        why = re.search(r"WeightsUnpickler error:\s*([^\n]+)", str(e))
        first = str(e).strip().splitlines()[0] if str(e).strip() else "empty or cut file"
        detail = why.group(1).strip() if why else f"{type(e).__name__}: {first}"
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({detail})") from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"{path}: not a Lightning checkpoint (no 'state_dict')")
    hp = ckpt.get("hyper_parameters", {})
    if not isinstance(hp, dict):
        raise CheckpointError(f"{path}: hyper_parameters is a {type(hp).__name__}, expected a dict")
    for name, spec in hp.items():
        if name in UNBUILT_HPARAMS:
            continue
        if name == "net" and isinstance(spec, dict) and spec.get("_target_") == LEGACY_POSE_NET:
            # a fine-tuning file before format 4: its network class is gone, the conversion
            # (upgrade_pose_net) replaces it by name; everything else in it is checked
            spec = {k: v for k, v in spec.items() if k != "_target_"}
        try:
            check_spec(spec, f"hyper_parameters.{name}")
        except TargetError as e:
            raise CheckpointError(f"{path}: refused: {e}") from None
    if upgrade:
        ckpt["hyper_parameters"] = upgrade_hyperparameters(hp, path)
        upgrade_state_dict(ckpt)
    return ckpt


def upgrade_hyperparameters(hp: dict[str, Any], path="checkpoint") -> dict[str, Any]:
    """A module's hyperparameters in today's format (a copy; today's pass unchanged): the node
    input spec of format 1 (:func:`upgrade_input_spec`), then the task list of format 4 for a
    fine-tuning file before it (:func:`upgrade_pose_net`).

    Raises:
        CheckpointError: naming the file and what cannot be converted.
    """
    hp = upgrade_input_spec(hp, path)
    if "net" in hp:
        hp = upgrade_pose_net(hp, path)
    return hp


def upgrade_input_spec(hp: dict[str, Any], path="checkpoint") -> dict[str, Any]:
    """Hyperparameters of format 1 with the node input spec of format 2 (a copy; later pass unchanged).

    Format 1 (no ``input_spec``; the backbone spec holds ``in_channels``): the node input
    spec is recovered from the TORE depth of the graph spec (or of the run's config) and the
    width, which was ``1 + 2 * tore_k + P + 2``; ``in_channels`` leaves the backbone spec.

    Raises:
        CheckpointError: a format-1 checkpoint whose layout cannot be recovered (no TORE
            depth, or a width that fits no part count), naming the file and the values.
    """
    if "input_spec" in hp or not ("net" in hp or "backbone" in hp):
        return hp
    hp = dict(hp)
    if "net" in hp:
        net = dict(hp["net"] or {})
        backbone = dict(net.get("backbone") or {})
    else:
        backbone = dict(hp["backbone"] or {})
    width = backbone.pop("in_channels", None)
    tore_k = (hp.get("graph") or {}).get("tore_k")
    if tore_k is None:
        tore_k = ((hp.get("config") or {}).get("graph") or {}).get("tore_k")
    if width is None or tore_k is None:
        raise CheckpointError(
            f"{path}: an evpose checkpoint of format 1 (before the node input spec) without "
            f"{'the backbone in_channels' if width is None else 'the graph TORE depth'}; its node feature layout "
            "cannot be recovered: fine-tune or pretrain it again"
        )
    num_parts = int(width) - 3 - 2 * int(tore_k)  # format 1: polarity, 2 * tore_k TORE, P + 2 part channels
    if num_parts < 1:
        raise CheckpointError(
            f"{path}: an evpose checkpoint of format 1 with backbone in_channels={width} and tore_k={tore_k}, "
            "which fits no node feature layout of that format (1 + 2 * tore_k + P + 2, P >= 1)"
        )
    hp["input_spec"] = NodeInputSpec(int(tore_k), num_parts).as_dict()
    if "net" in hp:
        hp["net"] = {**net, "backbone": backbone}
    else:
        hp["backbone"] = backbone
    return hp


#: The options of the pose network of fine-tuning checkpoints before format 4 (an
#: ``evpose.models.PoseNet`` spec) with their defaults then.
POSE_NET_DEFAULTS: dict[str, Any] = {
    "num_joints": 13, "num_parts": 10, "joints3d": True, "root_joints": list(ROOT_JOINTS), "offset_scale_px": 10.0,
    "confidence_radius_px": 8.0, "depth_scale_mm": 500.0, "gamma_init": 0.45, "root_box_from_labels": True,
    "detach_depth_prob": True, "gamma_sees_k": True, "root_from": "features",
}
#: The loss weights of fine-tuning checkpoints before format 4, with their defaults then.
POSE_LOSS_DEFAULTS: dict[str, float] = {"joints2d": 1.0, "heatmap": 10.0, "rel_depth": 1.0, "root_depth": 5.0, "parts": 1.0}
#: Hyperparameters of a fine-tuning checkpoint before format 4.
POSE_NET_HPARAMS = ("net", "input_spec", "optimizer", "scheduler", "loss_weights", "stage_weights", "joint_loss_kind",
                    "heatmap_sigma_px", "freeze_backbone", "freeze_backbone_steps", "backbone_lr_factor", "graph",
                    "config")
#: Where a fine-tuning checkpoint before format 4 kept the pose heads (``net.<head>.<stage>.``).
POSE_NET_HEADS = ("joints2d", "joints3d", "parts")


def upgrade_pose_net(hp: dict[str, Any], path="checkpoint") -> dict[str, Any]:
    """The hyperparameters of a fine-tuning checkpoint before format 4 (a ``net`` spec of an
    ``evpose.models.PoseNet``) as format 4's: the backbone spec and the pose tasks, with the
    values the file left out at their defaults then (:data:`POSE_NET_DEFAULTS`,
    :data:`POSE_LOSS_DEFAULTS`).

    Raises:
        CheckpointError: a net spec of another class, or a value the conversion does not
            know (naming the file and the keys).
    """
    unknown = sorted(set(hp) - set(POSE_NET_HPARAMS))
    net = dict(hp["net"] or {})
    target = net.pop("_target_", None)
    backbone = net.pop("backbone", None)
    if target != LEGACY_POSE_NET or not isinstance(backbone, dict):
        raise CheckpointError(f"{path}: hyper_parameters.net is not an evpose.models.PoseNet spec with a backbone "
                              f"(_target_ = {target!r}); it cannot be converted to format {CHECKPOINT_FORMAT}")
    unknown += [f"net.{k}" for k in sorted(set(net) - set(POSE_NET_DEFAULTS))]
    weights = dict(hp.get("loss_weights") or {})
    unknown += [f"loss_weights.{k}" for k in sorted(set(weights) - set(POSE_LOSS_DEFAULTS))]
    if unknown:
        raise CheckpointError(f"{path}: a fine-tuning checkpoint before format {CHECKPOINT_FORMAT} with "
                              f"hyperparameter(s) {', '.join(unknown)} that the conversion does not know")
    v = {**POSE_NET_DEFAULTS, **net}
    w = {**POSE_LOSS_DEFAULTS, **weights}
    tasks: dict[str, dict] = {"joints2d": {
        "_target_": "evpose.tasks.Joints2DTask", "weight": w["joints2d"], "num_joints": v["num_joints"],
        "offset_scale_px": v["offset_scale_px"], "confidence_radius_px": v["confidence_radius_px"],
        "loss": hp.get("joint_loss_kind", "l1"), "heatmap_weight": w["heatmap"],
        "heatmap_sigma_px": hp.get("heatmap_sigma_px", 4.0)}}
    if v["joints3d"]:
        tasks["joints3d"] = {
            "_target_": "evpose.tasks.Joints3DTask", "weight": w["rel_depth"], "root_depth_weight": w["root_depth"],
            "num_joints": v["num_joints"], "root_joints": list(v["root_joints"]), "depth_scale_mm": v["depth_scale_mm"],
            "gamma_init": v["gamma_init"], "detach_depth_prob": v["detach_depth_prob"],
            "gamma_sees_k": v["gamma_sees_k"], "root_from": v["root_from"],
            "root_box_from_labels": v["root_box_from_labels"]}
    if int(v["num_parts"]) > 0:
        tasks["parts"] = {"_target_": "evpose.tasks.PartsTask", "weight": w["parts"], "num_parts": v["num_parts"]}
    return {"backbone": backbone, "input_spec": hp["input_spec"], "tasks": tasks, "optimizer": hp.get("optimizer"),
            "scheduler": hp.get("scheduler"), "graph": hp.get("graph"), "config": hp.get("config"),
            "stage_weights": hp.get("stage_weights"), "freeze_backbone": bool(hp.get("freeze_backbone", False)),
            "freeze_backbone_steps": int(hp.get("freeze_backbone_steps", 0)),
            "backbone_lr_factor": float(hp.get("backbone_lr_factor", 1.0))}


def upgrade_state_dict(checkpoint: dict[str, Any]) -> None:
    """Move the weights of a checkpoint before format 4 to format 4's keys (in place; a
    format-4 file is left as it is): a pretraining file's ``backbone.`` and ``heads.<task>.``
    to ``net.backbone.`` and ``net.heads.<task>.``, a fine-tuning file's
    ``net.<head>.<stage>.`` (:data:`POSE_NET_HEADS`) to ``net.heads.<head>.stages.<stage>.``.
    Other keys stay (``load_state_dict`` names them)."""
    state = checkpoint.get("state_dict")
    if not isinstance(state, dict):
        return
    moved = {}
    for key, value in state.items():
        new = key
        if key.startswith(("backbone.", "heads.")):
            new = "net." + key
        else:
            for head in POSE_NET_HEADS:
                if key.startswith(f"net.{head}."):
                    new = f"net.heads.{head}.stages.{key[len(f'net.{head}.'):]}"
                    break
        moved[new] = value
    if list(moved) != list(state):
        state.clear()
        state.update(moved)


def upgrade_head_weights(checkpoint: dict[str, Any], prefixes: dict[str, str], expected) -> None:
    """Move the pretext head weights of a checkpoint written before format 3 (in place).

    Before format 3 some heads were their network alone, its weights under ``heads.<task>.``;
    now the head module keeps it under ``heads.<task>.<prefix>`` (e.g. ``decoder.``). A
    task's weights move when they are not where the module keeps them and are once prefixed,
    so the file's own layout decides (also for a file without an ``evpose`` entry); weights
    already in place, and tasks with an empty prefix, are left as they are.

    Args:
        checkpoint: a Lightning checkpoint.
        prefixes: ``{task: prefix}`` (:attr:`evpose.tasks.TaskHead.format2_prefix`).
        expected: the state-dict keys of the module the checkpoint is loaded into.
    """
    state = checkpoint.get("state_dict")
    if not isinstance(state, dict):
        return
    expected = set(expected)
    for task, prefix in prefixes.items():
        old = f"heads.{task}."
        keys = [k for k in state if k.startswith(old)]
        if not prefix or not keys or all(k in expected for k in keys):
            continue
        moved = {old + prefix + k[len(old):]: k for k in keys}
        if all(new in expected for new in moved):
            for new, k in moved.items():
                state[new] = state.pop(k)


def _check_kind(path, meta: dict, kind) -> None:
    kinds = (kind,) if isinstance(kind, str) else kind
    if kinds is not None and meta.get("kind") not in kinds:
        raise CheckpointError(f"{path}: an evpose {meta.get('kind')} checkpoint, but a {' or '.join(kinds)} one is needed")


def load_backbone_weights(backbone: nn.Module, path, prefix: str = "backbone.") -> dict[str, list[str]]:
    """Copy a checkpoint's backbone weights into ``backbone``.

    Keys are matched after removing ``prefix`` (checkpoints of format 4 store the backbone
    under ``net.backbone.``, older pretraining ones under ``backbone.``; both are recognised).
    Missing and unexpected keys are reported (logged and returned); a key present in both
    with another shape is an error naming the key and the shapes.

    Returns:
        ``{"loaded": [...], "missing": [...], "unexpected": [...]}``
    """
    ckpt = read_checkpoint(path)
    state = ckpt["state_dict"]
    prefixes = [prefix, "net." + prefix] if not prefix.startswith("net.") else [prefix]
    found = {}
    for p in prefixes:
        found = {k[len(p):]: v for k, v in state.items() if k.startswith(p)}
        if found:
            break
    if not found:
        raise CheckpointError(f"{path}: holds no backbone weights (no keys starting with {' or '.join(prefixes)})")
    own = backbone.state_dict()
    for k, v in found.items():
        if k in own and own[k].shape != v.shape:
            raise CheckpointError(
                f"{path}: backbone weight {k!r} has shape {tuple(v.shape)} in the checkpoint but {tuple(own[k].shape)} "
                "in this model; the backbones differ (channels, levels, TORE depth or part input)"
            )
    if not set(found) & set(own):
        raise CheckpointError(f"{path}: none of its {len(found)} backbone weights fits this backbone; incompatible model")
    result = backbone.load_state_dict(found, strict=False)
    report = {"loaded": sorted(set(found) & set(own)), "missing": sorted(result.missing_keys),
              "unexpected": sorted(result.unexpected_keys)}
    log.info("backbone from %s: %d tensors loaded, %d missing, %d unexpected", path, len(report["loaded"]),
             len(report["missing"]), len(report["unexpected"]))
    for name in ("missing", "unexpected"):
        if report[name]:
            log.warning("backbone from %s: %s keys: %s", path, name, ", ".join(report[name]))
    return report


class CheckedLoading:
    """Mixin of evpose's LightningModule: ``load_from_checkpoint`` reads the file with
    :func:`read_checkpoint_data` first (data only, evpose's classes only; of the ``kind`` asked
    for when evpose wrote it; an older format upgraded) and then lets Lightning load it with
    ``weights_only=True``, building the module from the upgraded hyperparameters.
    """

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path, map_location=None, hparams_file=None, strict=None,
                             kind: str | tuple[str, ...] | None = None, **kwargs):
        """Lightning's ``load_from_checkpoint``, refusing checkpoints that are not plain data
        (:class:`CheckpointError` naming the file and the entry), and, with ``kind``
        (``"pretrain"``, ``"finetune"``), an evpose checkpoint of another kind."""
        if isinstance(checkpoint_path, (str, os.PathLike)):
            ckpt = read_checkpoint_data(checkpoint_path, upgrade=False)
            meta = ckpt.get("evpose")
            if isinstance(meta, dict) and kind:  # (written by evpose's modules: of this kind)
                _check_kind(checkpoint_path, meta, kind)
            # an older format: the module is built from the upgraded hyperparameters (those
            # of the file the module does not take are left out by Lightning); its weights move
            # in the module's on_load_checkpoint
            hp = ckpt.get("hyper_parameters", {})
            upgraded = upgrade_hyperparameters(hp, checkpoint_path)
            kwargs = {**{k: v for k, v in upgraded.items() if k not in hp or hp[k] != v}, **kwargs}
        load = super().load_from_checkpoint
        if "weights_only" in inspect.signature(load).parameters:  # Lightning >= 2.5 takes it
            kwargs["weights_only"] = True
        return load(checkpoint_path, map_location=map_location, hparams_file=hparams_file, strict=strict, **kwargs)
