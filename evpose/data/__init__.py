"""Windows over event streams, their pose labels, datasets of windows."""

from .datamodule import EventDataModule
from .dataset import EventWindowDataset
from .dhp19_labels import dhp19_label_samples, dhp19_sample_ranges, nearest_pose_sample
from .loader import RefusedBatch, SkippingCollater
from .node_inputs import NodeInputSpec
from .part_input import AppendPartInput, part_input
from .part_labeller import SkeletonPartLabeller
from .transforms import PoseGraphTransform
from .labels import LABEL_RULES, PoseLabel, nan_mean_pose, project_pose, window_label, window_pose
from .manifest import SPLITS, DatasetError, NoDatasetError, load_manifest, split_recordings, write_manifest
from .stream_windows import StreamWindow, StreamWindows, recording_chunks
from .synced_windows import counts_before_ranks, synced_count_windows
from .window_index import WINDOW_KINDS, recording_windows
from .windows import Window, constant_count_windows, constant_duration_windows

__all__ = [
    "AppendPartInput",
    "DatasetError",
    "NoDatasetError",
    "NodeInputSpec",
    "EventDataModule",
    "PoseGraphTransform",
    "SkeletonPartLabeller",
    "RefusedBatch",
    "SkippingCollater",
    "part_input",
    "EventWindowDataset",
    "LABEL_RULES",
    "PoseLabel",
    "SPLITS",
    "WINDOW_KINDS",
    "Window",
    "constant_count_windows",
    "constant_duration_windows",
    "counts_before_ranks",
    "dhp19_label_samples",
    "dhp19_sample_ranges",
    "nearest_pose_sample",
    "recording_windows",
    "synced_count_windows",
    "load_manifest",
    "nan_mean_pose",
    "project_pose",
    "split_recordings",
    "window_label",
    "window_pose",
    "write_manifest",
]
