"""Reading evpose checkpoints with clear errors (not an evpose file, wrong kind, wrong shapes).

A checkpoint is data, never code: it is unpickled with ``torch.load(weights_only=True)``
(tensors, plain Python values and the few types of :data:`SAFE_GLOBALS`), and the specs it
carries to rebuild the network must name evpose's own classes (:mod:`evpose.modules.build`),
checked before anything is built.
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

from ..errors import EvposeInputError
from .build import TargetError, check_spec

log = logging.getLogger(__name__)

CHECKPOINT_KINDS = ("pretrain", "finetune")
#: Types beyond tensors and plain values that evpose and Lightning checkpoints may hold
#: (``torch.load(weights_only=True)`` refuses everything else). Checkpoints written by
#: evpose's modules with the shipped callbacks and loggers need none.
SAFE_GLOBALS: tuple = ()
#: Hyperparameters that are kept for the record and never built (the whole run configuration).
UNBUILT_HPARAMS = ("config",)


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


def read_checkpoint_data(path) -> dict[str, Any]:
    """A Lightning checkpoint as plain data: unpickled with ``weights_only=True`` and its
    specs checked (:func:`evpose.modules.build.check_spec`), whoever wrote it.

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
        try:
            check_spec(spec, f"hyper_parameters.{name}")
        except TargetError as e:
            raise CheckpointError(f"{path}: refused: {e}") from None
    return ckpt


def _check_kind(path, meta: dict, kind) -> None:
    kinds = (kind,) if isinstance(kind, str) else kind
    if kinds is not None and meta.get("kind") not in kinds:
        raise CheckpointError(f"{path}: an evpose {meta.get('kind')} checkpoint, but a {' or '.join(kinds)} one is needed")


def load_backbone_weights(backbone: nn.Module, path, prefix: str = "backbone.") -> dict[str, list[str]]:
    """Copy a checkpoint's backbone weights into ``backbone``.

    Keys are matched after removing ``prefix`` (pretraining checkpoints store the backbone
    under ``backbone.``, fine-tuning ones under ``net.backbone.``; both are recognised).
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
    """Mixin of evpose's LightningModules: ``load_from_checkpoint`` reads the file with
    :func:`read_checkpoint_data` first (data only, evpose's classes only; of the module's
    kind when evpose wrote it) and then lets Lightning load it with ``weights_only=True``.

    Attributes:
        checkpoint_kind: the kind of checkpoint the module writes (``"pretrain"``/``"finetune"``).
    """

    checkpoint_kind: str = ""

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path, map_location=None, hparams_file=None, strict=None, **kwargs):
        """Lightning's ``load_from_checkpoint``, refusing checkpoints that are not plain data
        (:class:`CheckpointError` naming the file and the entry)."""
        if isinstance(checkpoint_path, (str, os.PathLike)):
            meta = read_checkpoint_data(checkpoint_path).get("evpose")
            if isinstance(meta, dict) and cls.checkpoint_kind:  # (written by evpose's modules: of this kind)
                _check_kind(checkpoint_path, meta, cls.checkpoint_kind)
        load = super().load_from_checkpoint
        if "weights_only" in inspect.signature(load).parameters:  # Lightning >= 2.5 takes it
            kwargs["weights_only"] = True
        return load(checkpoint_path, map_location=map_location, hparams_file=hparams_file, strict=strict, **kwargs)
