"""Event representations: TORE volumes (batch, many sample times, streaming, at events,
window after window into one reused volume).

See ../shared/specs/tore.md (repository docs) for the exact definition implemented.
"""

from .events import EventTensors
from .tore import DEFAULT_K, MAX_DT, MIN_DT, tore_upper_bound, tore_values, tore_volume, tore_volume_tensors
from .tore_builder import ToreBuilder
from .tore_events import tore_at_events
from .tore_writer import ToreVolumeWriter

__all__ = [
    "DEFAULT_K",
    "EventTensors",
    "MAX_DT",
    "MIN_DT",
    "ToreBuilder",
    "ToreVolumeWriter",
    "tore_at_events",
    "tore_upper_bound",
    "tore_values",
    "tore_volume",
    "tore_volume_tensors",
]
