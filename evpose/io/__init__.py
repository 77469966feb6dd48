"""Event files: the evpose HDF5 format (reader, writer) and, later, raw-format readers."""

from .errors import EventFormatError
from .format import FORMAT_NAME, FORMAT_VERSION, ms_index_for
from .recording import EventRecording
from .writer import EventFileWriter, write_recording

__all__ = [
    "EventFileWriter",
    "EventFormatError",
    "EventRecording",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "ms_index_for",
    "write_recording",
]
