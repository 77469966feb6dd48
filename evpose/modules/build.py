"""Building objects from the plain-dict configs that LightningModules keep as hyperparameters.

A module's hyperparameters hold ``_target_`` dicts (no pickled objects), so that a
checkpoint alone rebuilds the network in any Python process, with or without conf/.

A checkpoint is data from anywhere, so what a spec may build is closed: every
``_target_`` of the whole spec must name a class (or function) defined under one of
:func:`allowed_targets` (evpose's networks, graph builders, tasks and schedules,
and torch's optimizers), and no value may be an OmegaConf interpolation (``${...}``).
The whole spec is checked before anything is built. Own classes are allowed with
:func:`allow_targets`.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf

from ..errors import EvposeInputError

#: Where the classes and functions that a spec may build are defined (module prefixes).
DEFAULT_ALLOWED_TARGETS = (
    "evpose.models.",
    "evpose.graph.",
    "evpose.tasks.",
    "evpose.pretext.",
    "evpose.modules.schedules.",
    "torch.optim.",
)
_allowed: list[str] = list(DEFAULT_ALLOWED_TARGETS)


class TargetError(EvposeInputError, ValueError):
    """A spec names something evpose does not build.

    Args:
        key: where in the spec, e.g. ``backbone.hourglass.conv._target_``.
        value: the offending value.
        reason: why it is refused.
    """

    def __init__(self, key: str, value: Any, reason: str):
        self.key, self.value, self.reason = key, value, reason
        super().__init__(f"{key} = {value!r}: {reason}")


def allowed_targets() -> tuple[str, ...]:
    """The module prefixes whose classes and functions a spec may name."""
    return tuple(_allowed)


def allow_targets(*prefixes: str) -> None:
    """Let specs (and so checkpoints) build classes of your own package, e.g.
    ``allow_targets("mylab.models.")``. Only do this for code you trust."""
    for p in prefixes:
        if not isinstance(p, str) or not p or p.startswith("."):
            raise ValueError(f"a target prefix is a module path like 'mylab.models.', got {p!r}")
        p = p if p.endswith(".") else p + "."
        if p not in _allowed:
            _allowed.append(p)


def to_plain(cfg: Any) -> Any:
    """An OmegaConf node (resolved) or any value as plain dicts and lists (also a dict or list
    holding OmegaConf nodes, e.g. task specs gathered from several config groups)."""
    if isinstance(cfg, (DictConfig, ListConfig)):
        return OmegaConf.to_container(cfg, resolve=True)
    if isinstance(cfg, dict):
        return {k: to_plain(v) for k, v in cfg.items()}
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(to_plain(v) for v in cfg)
    return cfg


def check_spec(spec: Any, key: str = "") -> None:
    """Check every ``_target_`` and value of a plain spec (recursively), building nothing.

    Raises:
        TargetError: naming the key path and the value of the first refused entry.
    """
    if isinstance(spec, dict):
        for k, v in spec.items():
            sub = f"{key}.{k}" if key else str(k)
            if k == "_target_":
                _check_target(sub, v)
            else:
                check_spec(v, sub)
    elif isinstance(spec, (list, tuple)):
        for i, v in enumerate(spec):
            check_spec(v, f"{key}[{i}]")
    elif isinstance(spec, str) and "${" in spec:
        raise TargetError(key, spec, "interpolations are not allowed in a spec (it must be resolved)")


def build(spec: Any, **kwargs) -> Any:
    """``hydra.utils.instantiate`` on a plain dict spec (with ``_target_``), after
    :func:`check_spec` accepted all of it.

    Raises:
        TargetError: a ``_target_`` outside :func:`allowed_targets`, or an interpolation.
    """
    if spec is None:
        return None
    if not isinstance(spec, dict) or "_target_" not in spec:
        raise ValueError(f"expected a config with a '_target_' key, got {spec!r}")
    check_spec(spec)
    return instantiate(OmegaConf.create(spec), **kwargs, _convert_="all")


def _check_target(key: str, target: Any) -> None:
    if not isinstance(target, str):
        raise TargetError(key, target, "a _target_ must be a dotted name")
    allowed = allowed_targets()
    if not any(target.startswith(p) for p in allowed):
        raise TargetError(key, target, f"not a class evpose builds (allowed: {', '.join(p + '*' for p in allowed)})")
    parts = target.split(".")
    if any(not p.isidentifier() or p.startswith("_") for p in parts):
        raise TargetError(key, target, "private or malformed name")
    obj = _resolve(parts)
    if obj is None:
        raise TargetError(key, target, "no such class or function")
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        raise TargetError(key, target, f"is a {type(obj).__name__}, not a class or function")
    home = f"{getattr(obj, '__module__', '')}."
    if not any(home.startswith(p) for p in allowed):
        raise TargetError(key, target, f"is defined in {home[:-1]!r}, outside the allowed modules")


def _resolve(parts: list[str]) -> Any:
    """The object a dotted name names, importing only the modules the name itself spells."""
    obj, i = None, len(parts)
    while i > 0:
        try:
            obj = importlib.import_module(".".join(parts[:i]))
            break
        except ImportError:
            i -= 1
    if obj is None:
        return None
    for name in parts[i:]:
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return obj


def sized_backbone(spec: dict, channels: int, where: str = "backbone") -> dict:
    """A copy of the backbone spec ``spec`` with ``in_channels`` set to ``channels`` (the
    node input width, :attr:`evpose.data.NodeInputSpec.channels`): the data, not the model
    config, sets the input width.

    Raises:
        ValueError: the spec names another ``in_channels`` (naming both).
    """
    given = spec.get("in_channels")
    if given is not None and int(given) != int(channels):
        raise ValueError(
            f"{where}.in_channels = {given}, but the data's node features have {channels} channels "
            "(the node input spec); leave in_channels out: the data sets it"
        )
    return {**spec, "in_channels": int(channels)}

