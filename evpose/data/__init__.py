"""Windows over event streams, their pose labels, datasets of windows."""

from .datamodule import EventDataModule
from .dataset import WINDOW_KINDS, EventWindowDataset
from .loader import SkippingCollater
from .part_input import AppendPartInput, part_input, part_input_channels
from .part_labeller import SkeletonPartLabeller
from .transforms import PoseGraphTransform
from .labels import LABEL_RULES, PoseLabel, project_pose, window_label, window_pose
from .manifest import SPLITS, DatasetError, NoDatasetError, load_manifest, split_recordings, write_manifest
from .windows import Window, constant_count_windows, constant_duration_windows

__all__ = [
    "AppendPartInput",
    "DatasetError",
    "NoDatasetError",
    "EventDataModule",
    "PoseGraphTransform",
    "SkeletonPartLabeller",
    "SkippingCollater",
    "part_input",
    "part_input_channels",
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
