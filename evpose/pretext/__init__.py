"""Self-supervised pretext tasks on event graphs, one file each.

- :mod:`~evpose.pretext.inpaint`: predict the events removed from spatio-temporal boxes.
- :mod:`~evpose.pretext.count`: predict how many events each box cell lost.
- :mod:`~evpose.pretext.refill`: predict the hidden part labels of masked nodes.
- :mod:`~evpose.pretext.future`: predict where the next events fire and how each part moves.
- :mod:`~evpose.pretext.onset`: predict when each blanked cell fires first (off by default).

Every task is an encoder (data side, :class:`~evpose.tasks.Encoder`) and a head (model side,
:class:`~evpose.tasks.TaskHead`) made from one spec (:class:`PretextTask`; the contract, shared
with the pose tasks, is in :mod:`evpose.tasks.base`). :class:`PretextTransform` runs the
enabled tasks' encoders on windows and builds their graphs; :class:`~evpose.modules.TaskModule`
trains the shared backbone with their heads.
"""

from ..tasks.base import EDGES, NODE, WINDOW, Encoder, GraphFrame, Key, Keys, TaskHead
from .base import PretextTask
from .count import CountHead, CountTask
from .future import FutureHead, FutureSplit, FutureTask
from .inpaint import BoxMasking, InpaintHead, InpaintTask
from .onset import OnsetBlanking, OnsetHead, OnsetTask
from .refill import RefillHead, RefillMasking, RefillTask
from .transform import PretextTransform

__all__ = [
    "EDGES",
    "NODE",
    "WINDOW",
    "BoxMasking",
    "CountHead",
    "CountTask",
    "Encoder",
    "FutureHead",
    "FutureSplit",
    "FutureTask",
    "GraphFrame",
    "InpaintHead",
    "InpaintTask",
    "Key",
    "Keys",
    "OnsetBlanking",
    "OnsetHead",
    "OnsetTask",
    "PretextTask",
    "PretextTransform",
    "RefillHead",
    "RefillMasking",
    "RefillTask",
    "TaskHead",
]
