"""The layout of the node input features ``x`` that the data pipeline makes.

The graph builder gives every node its polarity and ``2 * tore_k`` TORE values; with
``num_parts > 0`` the pose and pretraining transforms append the part-label input
(:mod:`evpose.data.part_input`: a one-hot over the P parts plus background, then a mask
flag). :class:`NodeInputSpec` names these blocks. The transforms make it
(``transform.input_spec``), the training modules keep it in their checkpoints, and it sets
the backbone's input width; code that reads a block of ``x`` asks the spec where it lies
instead of counting channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

#: The blocks of the node features, in order.
BLOCKS = ("polarity", "tore", "part_labels", "part_mask")


@dataclass(frozen=True)
class NodeInputSpec:
    """What the node features ``x`` hold, block by block.

    Args:
        tore_k: TORE depth of the graph builder (``2 * tore_k`` channels; 0: none).
        num_parts: P of the part-label input (``P + 1`` one-hot channels and a mask flag;
            0: no part input).

    Shapes:
        x: (N, channels) = (N, 1 + 2 * tore_k [+ P + 2])
    """

    tore_k: int
    num_parts: int

    def __post_init__(self):
        for name in ("tore_k", "num_parts"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 0:
                raise ValueError(f"node input spec: {name} must be a non-negative integer, got {value!r}")
            object.__setattr__(self, name, int(value))

    @property
    def widths(self) -> dict[str, int]:
        """Channels of each present block, in order."""
        out = {"polarity": 1, "tore": 2 * self.tore_k}
        if self.num_parts:
            out.update(part_labels=self.num_parts + 1, part_mask=1)
        return out

    @property
    def channels(self) -> int:
        """F: the width of ``x`` (the backbone's ``in_channels``)."""
        return sum(self.widths.values())

    @property
    def has_part_input(self) -> bool:
        return self.num_parts > 0

    def block(self, name: str) -> slice:
        """Where block ``name`` (one of :data:`BLOCKS`) lies in ``x``.

        Raises:
            KeyError: an unknown block, or the part blocks of a spec without part input.
        """
        start = 0
        for key, width in self.widths.items():
            if key == name:
                return slice(start, start + width)
            start += width
        if name in BLOCKS:
            raise KeyError(f"the node features have no {name!r} block (num_parts=0: no part input)")
        raise KeyError(f"unknown node feature block {name!r}; valid: {', '.join(BLOCKS)}")

    def as_dict(self) -> dict[str, int]:
        """Plain values (what checkpoints keep)."""
        return {"tore_k": self.tore_k, "num_parts": self.num_parts}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | "NodeInputSpec") -> "NodeInputSpec":
        """The spec from :meth:`as_dict`'s values (a spec passes through).

        Raises:
            ValueError: missing or unknown keys, naming them.
        """
        if isinstance(values, cls):
            return values
        if not isinstance(values, Mapping):
            raise ValueError(f"node input spec: expected a dict with tore_k and num_parts, got {values!r}")
        keys = set(values)
        if keys != {"tore_k", "num_parts"}:
            raise ValueError(f"node input spec: expected keys tore_k and num_parts, got {sorted(keys)}")
        return cls(values["tore_k"], values["num_parts"])
