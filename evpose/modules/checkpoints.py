"""Reading evpose checkpoints with clear errors (not an evpose file, wrong kind, wrong shapes)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

log = logging.getLogger(__name__)

CHECKPOINT_KINDS = ("pretrain", "finetune")


class CheckpointError(ValueError):
    """A checkpoint that evpose cannot use, with the file and the reason."""


def read_checkpoint(path, kind: str | tuple[str, ...] | None = None) -> dict[str, Any]:
    """Load an evpose Lightning checkpoint on the CPU and check what it is.

    Args:
        path: ``.ckpt`` file.
        kind: accepted kind(s): ``"pretrain"``, ``"finetune"`` (default: either).

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not a checkpoint, not an evpose one, or of another kind.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # pickle, zip and torch errors all mean "not a readable checkpoint"
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"{path}: not a Lightning checkpoint (no 'state_dict')")
    meta = ckpt.get("evpose")
    if not isinstance(meta, dict) or meta.get("kind") not in CHECKPOINT_KINDS:
        raise CheckpointError(
            f"{path}: not an evpose checkpoint (no 'evpose' entry); make one with evpose-pretrain or evpose-finetune"
        )
    kinds = (kind,) if isinstance(kind, str) else kind
    if kinds is not None and meta["kind"] not in kinds:
        raise CheckpointError(f"{path}: an evpose {meta['kind']} checkpoint, but a {' or '.join(kinds)} one is needed")
    return ckpt


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
