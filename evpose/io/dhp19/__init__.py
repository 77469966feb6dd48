"""DHP19 from the original recordings: filters, start/stop rules, the converter.

``DHP19Converter(...).run(root, out)`` converts a DHP19 tree (``evpose-convert-dhp19``);
``convert_recording`` converts one movement.
"""

from .background_activity import BackgroundActivityFilter
from .converter import DHP19Converter
from .filters import DHP19_IR_MASKS, DHP19Filters
from .layout import CAMERA_OF_ADDRESS, DHP19Recording, walk_dhp19
from .recording import convert_recording
from .sync import CorruptRecording, MovementInterval, SkipRecording, movement_interval

__all__ = [
    "BackgroundActivityFilter",
    "CAMERA_OF_ADDRESS",
    "CorruptRecording",
    "DHP19Converter",
    "DHP19Filters",
    "DHP19Recording",
    "DHP19_IR_MASKS",
    "MovementInterval",
    "SkipRecording",
    "convert_recording",
    "movement_interval",
    "walk_dhp19",
]
