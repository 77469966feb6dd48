"""An on-disk cache of the graphs a deterministic transform makes of a dataset's windows.

Fine-tuning sees every training window several times, and the graph of a window (TORE
features, subsampling, radius graph) is the same every time: the subsampling is seeded by
the window. Building it takes a few tens of milliseconds of CPU in the loader workers, as
much as a training step on a 2-core machine; read back from the cache it takes well under
one. The first epoch fills the cache (each worker writes the windows it builds), later
epochs and later runs with the same data and transform read it. A different transform or
window setting gets its own folder (named by a fingerprint of both), and a changed
recording file (size or modification time) invalidates its entries.

Files hold plain tensors, strings and numbers, read with ``torch.load(weights_only=True)``:
a cache file cannot run code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset
from torch_geometric.data import Data

log = logging.getLogger(__name__)

#: Bump when the stored layout changes: old cache folders are then ignored.
CACHE_FORMAT = 4  # 3: graphs without edge_attr (the models compute their own offsets); 4: with node_event

#: Integer tensors stored as int32 when their values fit (half the bytes of int64 edge
#: indices), restored to int64 on reading.
_COMPACT_KEYS = ("edge_index",)


def fingerprint(obj) -> object:
    """A JSON-able description of a transform's configuration: plain values as they are,
    arrays as lists, evpose objects as their class name and attributes (recursively).

    Raises:
        TypeError: something whose configuration cannot be read (a lambda, a foreign
            object): such a transform cannot be cached safely.
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [fingerprint(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): fingerprint(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    cls = type(obj)
    if cls.__module__.startswith("evpose.") and hasattr(obj, "__dict__"):
        return {"class": f"{cls.__module__}.{cls.__qualname__}", "attrs": fingerprint(vars(obj))}
    raise TypeError(f"cannot fingerprint a {cls.__module__}.{cls.__qualname__} for the graph cache")


def cache_key(transform, settings: dict) -> str:
    """A short hash of a transform's configuration and the window settings."""
    blob = json.dumps({"format": CACHE_FORMAT, "transform": fingerprint(transform), "settings": fingerprint(settings)},
                      sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def _to_plain(data: Data) -> dict:
    out = {}
    for k, v in data.to_dict().items():
        if isinstance(v, torch.Tensor) or isinstance(v, (str, int, float, bool)) or v is None:
            out[k] = v
        else:
            raise TypeError(f"graph attribute {k!r} of type {type(v).__name__} cannot be cached")
    compact = [k for k in _COMPACT_KEYS if isinstance(out.get(k), torch.Tensor) and out[k].dtype == torch.int64
               and (out[k].numel() == 0 or int(out[k].abs().max()) < 2**31)]
    for k in compact:
        out[k] = out[k].to(torch.int32)
    out["__int64__"] = compact
    return out


def _from_plain(stored: dict) -> Data:
    stored = dict(stored)
    for k in stored.pop("__int64__", ()):
        stored[k] = stored[k].to(torch.int64)
    return Data.from_dict(stored)


class CachedGraphDataset(Dataset):
    """The windows of an :class:`~evpose.data.EventWindowDataset` (or a ``Subset`` of one)
    through a deterministic transform, each graph built once and then read from disk.

    A window's file is named by its position in the underlying dataset and its recording,
    camera, events (and synchronised window, for ``count_synced`` windows), so a subset (a window cap, a label fraction) shares the files
    of the full dataset. Writes are atomic (a temporary file renamed), so loader workers
    and interrupted runs never leave a half-written entry.

    With ``in_memory`` the entries read are also kept in this process's memory (the demo's
    4451 training graphs take about 1.5 GB): later epochs then read nothing from disk, which
    matters where the page cache does not keep the files (measured on the 2-core VM: 8.6 ms
    per file from disk against 3.3 ms from the page cache and none from memory). It helps
    a loader without workers (workers are new processes every epoch).

    Args:
        dataset: the windows (its ``transform`` is ignored; ``transform`` is used).
        transform: sample dict -> ``Data`` (or None to skip the window), deterministic.
        folder: the cache folder of this dataset, transform and window settings.
        in_memory: also keep the entries read in memory (default False).
    """

    def __init__(self, dataset, transform, folder, in_memory: bool = False):
        base, index = dataset, None
        if isinstance(dataset, Subset):
            base, index = dataset.dataset, list(dataset.indices)
        if not hasattr(base, "raw_sample") or not hasattr(base, "windows"):
            raise TypeError("CachedGraphDataset wraps an EventWindowDataset (or a Subset of one)")
        self.base, self.index = base, index
        self.transform = transform
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._stamps = {i: self._stamp(p) for i, p in enumerate(base.paths)}
        self.in_memory = bool(in_memory)
        self._memory: dict[int, dict] = {}

    @staticmethod
    def _stamp(path: Path) -> str:
        st = os.stat(path)
        return f"{st.st_size}-{st.st_mtime_ns}"

    def __len__(self) -> int:
        return len(self.index) if self.index is not None else len(self.base)

    def file_of(self, i: int) -> Path:
        """The cache file of the ``i``-th window of the underlying dataset."""
        ri, w = self.base.windows[i]
        stem = self.base.paths[ri].stem
        tag = hashlib.sha1(f"{self.base.paths[ri]}|{self._stamps[ri]}".encode()).hexdigest()[:8]
        # a synchronised window also names its group (a camera's empty windows share i0 == i1)
        group = f"_g{w.group}" if w.group >= 0 else ""
        return self.folder / f"{i:07d}_{stem}_{tag}_{w.camera}_{w.i0}_{w.i1}{group}.pt"

    def __getitem__(self, j: int):
        i = self.index[j] if self.index is not None else j
        stored = self._memory.get(i)
        if stored is None:
            stored = self._read(i)
        if stored is None:
            stored = self._build(i)
        if self.in_memory:
            self._memory[i] = stored
        return None if stored.get("__skipped__") else _from_plain(stored)

    def _build(self, i: int) -> dict:
        """Build the ``i``-th window's graph and write its entry; returns the stored form."""
        data = self.transform(self.base.raw_sample(i))
        stored = {"__skipped__": True} if data is None else _to_plain(data)
        path = self.file_of(i)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        torch.save(stored, tmp)
        os.replace(tmp, path)
        return stored

    def _read(self, i: int) -> dict | None:
        path = self.file_of(i)
        if not path.exists():
            return None
        try:
            return torch.load(path, weights_only=True)
        except Exception as e:  # a damaged entry is rebuilt, not trusted
            log.warning("graph cache: unreadable entry %s (%s): rebuilding it", path, e)
            return None

    def missing(self) -> list[int]:
        """Positions (in this dataset) whose graph is not in the cache yet."""
        idx = self.index if self.index is not None else range(len(self.base))
        return [j for j, i in enumerate(idx) if not self.file_of(i).exists()]

    def fill(self, num_workers: int = 0) -> int:
        """Build every missing graph now, in ``num_workers`` processes (0: this one), so
        that training starts on a full cache and its loader only reads. Returns the number
        of graphs built."""
        todo = self.missing()
        if not todo:
            return 0
        if num_workers <= 0:
            for j in todo:
                self[j]
            return len(todo)
        loader = DataLoader(_Filler(self, todo), batch_size=None, num_workers=num_workers, collate_fn=_first)
        for _ in loader:
            pass
        return len(todo)


class _Filler(Dataset):
    """Builds (and caches) graphs in a loader worker, returning nothing through the pipe (tensors
    sent back would each hold a file descriptor: thousands exhaust the limit)."""

    def __init__(self, cached: CachedGraphDataset, todo: list[int]):
        self.cached, self.todo = cached, todo

    def __len__(self) -> int:
        return len(self.todo)

    def __getitem__(self, k: int):
        torch.set_num_threads(1)
        cached, j = self.cached, self.todo[k]
        cached._build(cached.index[j] if cached.index is not None else j)
        return 0


def _first(x):
    return x
