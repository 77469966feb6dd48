"""A torch Dataset of event windows over evpose recordings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from torch.utils.data import Dataset

from ..io import EventRecording
from .labels import LABEL_RULES, window_label
from .manifest import split_recordings
from .window_index import WINDOW_KINDS, recording_windows
from .windows import Window, window_history


class EventWindowDataset(Dataset):
    """Windows of events from evpose recordings, with their pose labels.

    The window index is built once when the dataset is made; recordings are opened
    lazily in each process (so the dataset works with DataLoader worker processes).

    A sample is a dict::

        events     structured (N,) array (t, x, y, p[, part, person])
        window     Window(camera, i0, i1, t_start, t_end, group, pose0, pose1)
        camera     Camera of the window
        recording  str path
        index      int, position in this dataset
        history    structured array of the events just before the window (if history_us > 0)
        # when the recording has poses and ``labels`` is True (see PoseLabel):
        joints3d (K, 3), valid3d (K,), joints2d (K, 2), visible (K,), depth (K,)

    Args:
        recordings: paths of evpose files.
        cameras: camera names to use (default: every camera of each file).
        window: ``"count"`` (constant number of events, each camera on its own clock),
            ``"duration"``, or ``"count_synced"``: DHP19's frames, closed every
            ``num_events * len(count_cameras)`` events of the counted cameras' merged
            stream, every camera cut over the same time span; the cameras' samples of one
            window share ``window.group`` (see :func:`~evpose.data.synced_count_windows`).
        num_events: events per window for ``"count"`` (DHP19: 7500); per camera and
            window, on average, for ``"count_synced"`` (DHP19: 7500, i.e. 30000 over four).
        count_cameras: the cameras ``"count_synced"`` counts (default: every camera of
            each recording, as DHP19, also when ``cameras`` keeps fewer).
        duration_us: window length for ``"duration"``.
        stride: window stride, events (count) or microseconds (duration); default no overlap.
        min_events: windows with fewer events are left out of the index (and counted
            in :attr:`skipped`).
        labels: attach pose labels (needs poses in the files).
        label_rule: ``"mean"`` (the mean pose in the window), ``"end"`` or ``"dhp19"``
            (DHP19's: the NaN-mean of the Vicon samples from the previous window's end
            sample to this one's, both included; the windows stop where DHP19's do, see
            :func:`~evpose.data.dhp19_label_samples`; applied whenever the recording has
            poses, also with ``labels=False``).
        history_us: also return the camera's events of ``[t_start - history_us, t_start)``
            as ``sample["history"]`` (the pixel history that TORE node features start from).
        transform: callable applied to each sample dict (e.g. a graph builder).
    """

    def __init__(
        self,
        recordings: Sequence[str | os.PathLike],
        cameras: Sequence[str] | None = None,
        window: str = "count",
        num_events: int = 7500,
        duration_us: int = 50_000,
        stride: int | None = None,
        count_cameras: Sequence[str] | None = None,
        min_events: int = 1,
        labels: bool = True,
        label_rule: str = "mean",
        history_us: int = 0,
        transform: Callable | None = None,
    ):
        if window not in WINDOW_KINDS:
            raise ValueError(f"unknown window kind {window!r}; valid: {', '.join(WINDOW_KINDS)}")
        if label_rule not in LABEL_RULES:
            raise ValueError(f"unknown label rule {label_rule!r}; valid: {', '.join(LABEL_RULES)}")
        self.paths = [Path(p) for p in recordings]
        if not self.paths:
            raise ValueError("EventWindowDataset needs at least one recording")
        self.labels = labels
        self.label_rule = label_rule
        if history_us < 0:
            raise ValueError(f"history_us must be >= 0, got {history_us}")
        self.history_us = int(history_us)
        self.transform = transform
        self.window = window
        self.count_cameras = None if count_cameras is None else list(count_cameras)
        self.windows: list[tuple[int, Window]] = []
        self.skipped = 0
        for ri, path in enumerate(self.paths):
            with EventRecording(path) as rec:
                names = rec.camera_names if cameras is None else list(cameras)
                missing = [c for c in names if c not in rec.cameras]
                if missing:
                    raise KeyError(f"{path}: no camera(s) {missing}; cameras: {rec.camera_names}")
                if labels and not rec.has_poses:
                    raise ValueError(f"{path}: has no poses; use labels=False for unlabelled data")
                ws = recording_windows(rec, names, window, num_events, duration_us, stride, self.count_cameras,
                                       label_rule)
                for w in ws:
                    if w.num_events < min_events:
                        self.skipped += 1
                    else:
                        self.windows.append((ri, w))
        self._open: dict[int, EventRecording] = {}
        self._pid = os.getpid()

    def __len__(self) -> int:
        return len(self.windows)

    def recording(self, ri: int) -> EventRecording:
        """The open recording number ``ri`` (opened once per process)."""
        if os.getpid() != self._pid:  # a forked worker must not share h5py handles
            self._open, self._pid = {}, os.getpid()
        rec = self._open.get(ri)
        if rec is None:
            rec = self._open[ri] = EventRecording(self.paths[ri])
        return rec

    def raw_sample(self, index: int) -> dict:
        """The sample before the transform."""
        ri, w = self.windows[index]
        rec = self.recording(ri)
        sample = {
            "events": rec.events_slice(w.camera, w.i0, w.i1),
            "window": w,
            "camera": rec.camera(w.camera),
            "recording": str(self.paths[ri]),
            "index": index,
        }
        if self.history_us:
            sample["history"] = window_history(rec, w, self.history_us)
        if self.labels:
            sample.update(window_label(rec, w, self.label_rule)._asdict())
        return sample

    def __getitem__(self, index: int):
        sample = self.raw_sample(index)
        return self.transform(sample) if self.transform is not None else sample

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_open"] = {}
        return state

    @classmethod
    def from_folder(cls, root, split: str | None, **kwargs) -> "EventWindowDataset":
        """Windows of the recordings of one split of a dataset folder (see manifest.py)."""
        return cls(split_recordings(root, split), **kwargs)

    def counts(self) -> np.ndarray:
        """(len,) number of events of every window."""
        return np.array([w.num_events for _, w in self.windows], dtype=np.int64)
