"""Self-supervised pretext tasks on event graphs, one file each.

- :mod:`~evpose.pretext.inpaint`: predict the events removed from spatio-temporal boxes.
- :mod:`~evpose.pretext.count`: predict how many events each box cell lost.
- :mod:`~evpose.pretext.refill`: predict the hidden part labels of masked nodes.
- :mod:`~evpose.pretext.future`: predict where the next events fire and how each part moves.
- :mod:`~evpose.pretext.onset`: predict when each blanked cell fires first (off by default).

:class:`PretextTransform` corrupts windows for the enabled tasks and builds their graphs;
:class:`~evpose.modules.PretrainModule` trains the shared backbone with a head per task.
"""

from .base import GraphFrame, PretextTask
from .count import CountTask
from .future import FutureTask
from .inpaint import BoxMasking, InpaintTask
from .onset import OnsetTask
from .refill import RefillTask
from .transform import PretextTransform

__all__ = [
    "BoxMasking",
    "CountTask",
    "FutureTask",
    "GraphFrame",
    "InpaintTask",
    "OnsetTask",
    "PretextTask",
    "PretextTransform",
    "RefillTask",
]
