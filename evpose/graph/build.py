"""Event windows to spatio-temporal graphs (PyG ``Data``), and the dataset transform.

A node per event (after optional subsampling) at ``pos = (x, y, beta * (t - t0))``,
edges from :func:`~evpose.graph.radius_graph`. The field names below are fixed: the
models, pretext tasks and fine-tuning code rely on them.

    pos         (N, 3) float32   x px, y px, beta * (t - t0)
    x           (N, F) float32   polarity +-1, then (optionally) the TORE at the event (2k)
    t           (N,)   int64     absolute timestamps (us)
    t0          (1,)   int64     the window start (time origin of pos[:, 2])
    edge_index  (2, E) int64     row 0 neighbour j (source), row 1 centre i (target)
    part, person (N,)  int64     event labels when the events carry them (-1 background)
    num_events  (1,)   int64     events in the window before subsampling
    node_event  (N,)   int64     the event each node is: its index in the window's events (the
                                 subsampling's choice, carried; not named *index, so batching
                                 leaves it as it is)
    # window targets and camera, leading dimension 1 so that PyG's Batch stacks them:
    joints2d (1, K, 2), visible (1, K), joints3d (1, K, 3), valid3d (1, K), depth (1, K),
    cam_K (1, 3, 3), cam_R (1, 3, 3), cam_t (1, 3), sensor_hw (1, 2), sample_id (1,)

Time scale. ``beta = time_scale_px / time_scale_us``; the default 1 ms == 1 px suits
DHP19-like windows: 7500 events last about 10 to 60 ms, and at ~3 m from a camera with
~330 px focal length a limb moving at 1 to 4 m/s shifts 0.1 to 0.5 px per ms. An edge's
trail then leans by well under 45 degrees in (x, y, t), a radius of 3 reaches about
+-3 ms along a pixel's own history and 3 px across, and a window's depth (10-60 "px")
is of the order of a limb's length on the sensor, so neither space nor time dominates
the neighbourhoods. A fixed scale keeps speeds comparable across windows. Windows of a
constant event count can last from ~15 ms (fast, large motions) to ~300 ms (a small
gesture), though: on evpose.synth's recordings at r = 3, 1 ms == 1 px gives a mean
degree of ~4 (walk, 50 ms windows) to ~17 (jumping jacks, 17 ms). ``window_depth_px``
instead scales every window to the same depth (a fixed-count window then has a
steady density, at the price of speeds).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from ..representations import DEFAULT_K, MAX_DT, MIN_DT, EventTensors, tore_at_events, tore_upper_bound
from ..representations.events import check_events, check_sensor_size
from .ops import take
from .radius import check_cap, check_radius, radius_graph

#: Default time scale: this many microseconds ...
TIME_SCALE_US = 1000.0
#: ... span this many pixels along pos[:, 2].
TIME_SCALE_PX = 1.0
#: Default graph radius (px) and neighbour cap.
RADIUS = 8.0
MAX_NUM_NEIGHBORS = 16
#: Nodes a dataset window keeps (EventGraphTransform; build_event_graph keeps every event by default).
MAX_NODES = 1024
SUBSAMPLE_MODES = ("random", "uniform")
#: Window targets copied from a dataset sample, and their dtypes.
TARGETS = {
    "joints2d": torch.float32,
    "visible": torch.bool,
    "joints3d": torch.float32,
    "valid3d": torch.bool,
    "depth": torch.float32,
}


def subsample_indices(n: int, max_nodes: int | None, mode: str = "random", seed: int | None = 0) -> np.ndarray | None:
    """Which of ``n`` time-ordered events to keep (sorted), or None to keep all.

    Args:
        n: events in the window.
        max_nodes: keep at most this many (None: all).
        mode: ``"random"`` (uniformly without replacement, from ``seed``; None: fresh
            randomness) or ``"uniform"`` (evenly spaced in the time-ordered sequence).
    """
    if mode not in SUBSAMPLE_MODES:
        raise ValueError(f"unknown subsample mode {mode!r}; valid: {', '.join(SUBSAMPLE_MODES)}")
    if max_nodes is None or n <= max_nodes:
        return None
    if max_nodes <= 0:
        raise ValueError(f"max_nodes must be positive (or None), got {max_nodes}")
    if mode == "uniform":
        return (np.arange(max_nodes, dtype=np.int64) * n) // max_nodes
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_nodes, replace=False))


def relative_offsets(pos: Tensor, edge_index: Tensor, scale: float = 1.0) -> Tensor:
    """``(pos_j - pos_i) / scale`` of every edge (j = edge_index[0], i = edge_index[1]),
    one coordinate at a time (1-D gathers are several times faster than row gathers).

    Shapes:
        pos: (N, D), edge_index: (2, E) -> (E, D)
    """
    cols = []
    for d in range(pos.shape[1]):
        c = pos[:, d].contiguous()
        diff = take(c, edge_index[0])
        diff -= take(c, edge_index[1])
        cols.append(diff.div_(scale))
    return torch.stack(cols, 1) if cols else pos.new_zeros((edge_index.shape[1], 0))


def build_event_graph(
    events: np.ndarray,
    sensor_size: Sequence[int],
    r: float = RADIUS,
    max_num_neighbors: int | None = MAX_NUM_NEIGHBORS,
    time_scale_us: float = TIME_SCALE_US,
    time_scale_px: float = TIME_SCALE_PX,
    window_depth_px: float | None = None,
    t0: int | None = None,
    t_end: int | None = None,
    max_nodes: int | None = None,
    subsample: str = "random",
    seed: int | None = 0,
    tore_k: int = DEFAULT_K,
    tore_normalize: bool = True,
    tore_min_dt: float = MIN_DT,
    tore_max_dt: float = MAX_DT,
    history: np.ndarray | None = None,
    device=None,
) -> Data:
    """The spatio-temporal graph of a window of events.

    Args:
        events: structured event array (t, x, y, p[, part, person]) of one window,
            time-ordered (as evpose files store them).
        sensor_size: (H, W); events outside raise ValueError.
        r: radius of the graph in pos units (default 8.0 px).
        max_num_neighbors: incoming edges kept per node, the nearest (default 16).
        time_scale_us: ``time_scale_us`` microseconds ...
        time_scale_px: ... map to ``time_scale_px`` along pos[:, 2] (default 1 ms == 1 px).
        window_depth_px: instead, scale time so that the window ``[t0, t_end)`` spans
            this many px (default None: use the time scale).
        t0: time origin (default: the first event; pass the window start).
        t_end: window end, for ``window_depth_px`` (default: the last event + 1 us).
        max_nodes: subsample to at most this many nodes (default None: every event).
        subsample: ``"random"`` (seeded) or ``"uniform"`` (evenly spaced in time order).
        seed: seed of the random subsampling (None: fresh randomness every call).
        tore_k: TORE depth of the node features (default 4; 0: polarity only).
        tore_normalize: divide the TORE features by their upper bound, to [0, 1]
            (default True; False keeps the raw log-ages).
        tore_min_dt: TORE lower age bound (default 150 us).
        tore_max_dt: TORE upper age bound (default 5 s).
        history: events just before the window, seen by the TORE features (and by no node).
        device: where to build the graph (default CPU).

    Returns:
        ``Data`` with the fields of the module docstring (no targets: see
        :class:`EventGraphTransform` for dataset samples).

    Shapes:
        events: (N,) -> Data with N' = min(N, max_nodes) nodes
    """
    hw = check_sensor_size(sensor_size)
    r = check_radius(r)
    check_cap(max_num_neighbors)
    if not time_scale_us > 0 or not time_scale_px > 0:
        raise ValueError(f"time scale must be positive, got {time_scale_us} us == {time_scale_px} px")
    if window_depth_px is not None and not window_depth_px > 0:
        raise ValueError(f"window_depth_px must be positive (or None), got {window_depth_px}")
    if isinstance(tore_k, bool) or int(tore_k) != tore_k or tore_k < 0:
        raise ValueError(f"tore_k must be a non-negative integer, got {tore_k}")
    ev = EventTensors.from_events(events)
    check_events(ev, hw)
    device = torch.device(device) if device is not None else torch.device("cpu")
    n = len(ev)
    t_all = ev.t.to(torch.int64)
    origin = int(t0) if t0 is not None else (int(t_all.min()) if n else 0)

    keep = subsample_indices(n, max_nodes, subsample, seed)
    idx = None if keep is None else torch.from_numpy(keep.astype(np.int64))
    polarity = ev.p if idx is None else take(ev.p, idx)
    feats = [torch.where(polarity > 0, 1.0, -1.0).to(torch.float32)[:, None]]
    if tore_k:  # at the nodes only (every event's history counts)
        tore = tore_at_events(ev, hw, tore_k, tore_min_dt, tore_max_dt, history=history, index=idx)
        if tore_normalize:
            tore = tore / tore_upper_bound(tore_min_dt, tore_max_dt)
        feats.append(tore)
    x = torch.cat(feats, 1)

    names = events.dtype.names if isinstance(events, np.ndarray) else ()
    labels = {f: torch.from_numpy(np.asarray(events[f], dtype=np.int64)) for f in ("part", "person") if f in names}
    t = t_all
    cols = (ev.x, ev.y)
    node_event = torch.arange(n, dtype=torch.int64) if idx is None else idx
    if idx is not None:
        t = take(t, idx)
        cols = tuple(take(c, idx) for c in cols)
        labels = {f: take(v, idx) for f, v in labels.items()}

    beta = float(time_scale_px) / float(time_scale_us)
    if window_depth_px is not None:
        end = int(t_end) if t_end is not None else (int(t_all.max()) + 1 if n else origin + 1)
        beta = float(window_depth_px) / max(end - origin, 1)
    pos = torch.stack(
        [cols[0].to(torch.float64), cols[1].to(torch.float64), (t - origin).to(torch.float64) * beta], 1
    ).to(torch.float32)
    pos, x, t = pos.to(device), x.to(device), t.to(device)
    edge_index = radius_graph(pos, r, max_num_neighbors=max_num_neighbors)
    data = Data(
        x=x,
        pos=pos,
        t=t,
        t0=torch.tensor([origin], dtype=torch.int64, device=device),
        edge_index=edge_index,
        num_events=torch.tensor([n], dtype=torch.int64, device=device),
        node_event=node_event.to(device),
    )
    for f, v in labels.items():
        data[f] = v.to(device)
    return data


class EventGraphTransform(BaseTransform):
    """Dataset sample (from :class:`evpose.data.EventWindowDataset`) to event graph.

    Builds the graph with :func:`build_event_graph` (time origin: the window start;
    TORE history: ``sample["history"]`` when the dataset provides it), then carries the
    window's targets and camera along with a leading dimension of 1, so that
    ``torch_geometric.data.Batch`` stacks them per graph. Missing labels stay absent.

    Args:
        sensor_size: (H, W) (default: the sample's camera's).
        r, max_num_neighbors, time_scale_us, time_scale_px, window_depth_px, max_nodes, subsample,
        tore_k, tore_normalize, tore_min_dt, tore_max_dt: as :func:`build_event_graph`, except
            that ``max_nodes`` defaults to :data:`MAX_NODES` (1024; conf/graph/default.yaml).
        seed: base seed of the random subsampling; sample ``i`` uses ``(seed, i)`` so
            every window is reproducible (default 0; None: fresh randomness, e.g. as
            augmentation).
        use_history: feed ``sample["history"]`` to the TORE features (default True).

    Shapes:
        sample["events"]: (N,) -> Data (see the module docstring)
    """

    def __init__(
        self,
        sensor_size: Sequence[int] | None = None,
        r: float = RADIUS,
        max_num_neighbors: int | None = MAX_NUM_NEIGHBORS,
        time_scale_us: float = TIME_SCALE_US,
        time_scale_px: float = TIME_SCALE_PX,
        window_depth_px: float | None = None,
        max_nodes: int | None = MAX_NODES,
        subsample: str = "random",
        seed: int | None = 0,
        tore_k: int = DEFAULT_K,
        tore_normalize: bool = True,
        tore_min_dt: float = MIN_DT,
        tore_max_dt: float = MAX_DT,
        use_history: bool = True,
    ):
        self.sensor_size = None if sensor_size is None else check_sensor_size(sensor_size)
        self.r = check_radius(r)
        self.max_num_neighbors = check_cap(max_num_neighbors)
        self.time_scale_us, self.time_scale_px = float(time_scale_us), float(time_scale_px)
        self.window_depth_px = None if window_depth_px is None else float(window_depth_px)
        if subsample not in SUBSAMPLE_MODES:
            raise ValueError(f"unknown subsample mode {subsample!r}; valid: {', '.join(SUBSAMPLE_MODES)}")
        self.max_nodes, self.subsample, self.seed = max_nodes, subsample, seed
        self.tore_k, self.tore_normalize = int(tore_k), bool(tore_normalize)
        self.tore_min_dt, self.tore_max_dt = float(tore_min_dt), float(tore_max_dt)
        self.use_history = bool(use_history)

    @property
    def num_node_features(self) -> int:
        """F: 1 (polarity) + 2 * tore_k."""
        return 1 + 2 * self.tore_k

    def forward(self, sample: dict) -> Data:
        if not isinstance(sample, dict) or "events" not in sample:
            raise TypeError("EventGraphTransform expects a dataset sample dict with an 'events' array")
        camera = sample.get("camera")
        sensor_size = self.sensor_size or (camera.sensor_size if camera is not None else None)
        if sensor_size is None:
            raise ValueError("no sensor size: give sensor_size or a sample with a 'camera'")
        window = sample.get("window")
        index = sample.get("index")
        seed = self.seed
        if seed is not None and index is not None:
            seed = [int(seed), int(index)]
        data = build_event_graph(
            sample["events"],
            sensor_size,
            r=self.r,
            max_num_neighbors=self.max_num_neighbors,
            time_scale_us=self.time_scale_us,
            time_scale_px=self.time_scale_px,
            window_depth_px=self.window_depth_px,
            t0=None if window is None else window.t_start,
            t_end=None if window is None else window.t_end,
            max_nodes=self.max_nodes,
            subsample=self.subsample,
            seed=seed,
            tore_k=self.tore_k,
            tore_normalize=self.tore_normalize,
            tore_min_dt=self.tore_min_dt,
            tore_max_dt=self.tore_max_dt,
            history=sample.get("history") if self.use_history else None,
        )
        for name, dtype in TARGETS.items():
            if name in sample and sample[name] is not None:
                data[name] = torch.as_tensor(np.asarray(sample[name]), dtype=dtype)[None]
        if camera is not None:
            data.cam_K = torch.as_tensor(np.asarray(camera.K), dtype=torch.float32)[None]
            data.cam_R = torch.as_tensor(np.asarray(camera.R), dtype=torch.float32)[None]
            data.cam_t = torch.as_tensor(np.asarray(camera.t), dtype=torch.float32).reshape(1, 3)
            data.camera = camera.name
        data.sensor_hw = torch.tensor([list(sensor_size)], dtype=torch.int64)
        if index is not None:
            data.sample_id = torch.tensor([int(index)], dtype=torch.int64)
        if "recording" in sample:
            data.recording = str(sample["recording"])
        return data

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(r={self.r}, max_num_neighbors={self.max_num_neighbors}, "
            f"time_scale={self.time_scale_us:g} us == {self.time_scale_px:g} px, max_nodes={self.max_nodes}, "
            f"subsample={self.subsample!r}, tore_k={self.tore_k}, tore_normalize={self.tore_normalize})"
        )
