"""Event files: the evpose HDF5 format (reader, writer), dataset folders (manifest), raw-format readers."""

from .errors import EventFormatError
from .format import FORMAT_NAME, FORMAT_VERSION, ms_index_for
from .manifest import DatasetError, NoDatasetError, load_manifest, split_recordings, write_manifest
from .recording import EventRecording
from .writer import EventFileWriter, write_recording

__all__ = [
    "DatasetError",
    "EventFileWriter",
    "EventFormatError",
    "EventRecording",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "NoDatasetError",
    "load_manifest",
    "ms_index_for",
    "split_recordings",
    "write_manifest",
    "write_recording",
]
