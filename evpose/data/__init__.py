"""Windows over event streams, their pose labels, datasets of windows."""

from .dataset import WINDOW_KINDS, EventWindowDataset
from .labels import LABEL_RULES, PoseLabel, project_pose, window_label, window_pose
from .manifest import SPLITS, load_manifest, split_recordings, write_manifest
from .windows import Window, constant_count_windows, constant_duration_windows

__all__ = [
    "EventWindowDataset",
    "LABEL_RULES",
    "PoseLabel",
    "SPLITS",
    "WINDOW_KINDS",
    "Window",
    "constant_count_windows",
    "constant_duration_windows",
    "load_manifest",
    "project_pose",
    "split_recordings",
    "window_label",
    "window_pose",
    "write_manifest",
]
