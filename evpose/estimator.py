"""Pose estimation from a checkpoint alone, for downstream code.

    from evpose import load_estimator
    est = load_estimator("model.ckpt", device="cpu")
    out = est.predict(events, camera)   # joints2d, joints3d, parts, confidence
    for pose in est.stream(chunks, camera, rate_hz=100):   # a live or recorded stream
        pose.t_us, pose.joints2d, ...

Everything needed (the network's and the graph builder's configuration) travels inside the
checkpoint; no conf/ directory and no Hydra run are needed.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch
from torch_geometric.data import Batch

from .data.node_inputs import NodeInputSpec
from .data.transforms import PoseGraphTransform
from .geometry import Camera
from .modules.build import build, sized_backbone
from .modules.checkpoints import CheckpointError, read_checkpoint
from .tasks import Joints2DTask, Joints3DTask, PartsTask, Task, TaskNet

#: Fewest events of a window the network is run on (about 1% of a DHP19 window of 7500
#: events): a sparser window gives NaN joints with confidence 0, not a guess.
MIN_EVENTS = 100
#: Batches of fewer graph nodes run on one torch thread (see :class:`PoseEstimator`).
ONE_THREAD_BELOW_NODES = 4096
#: Polarity values :meth:`PoseEstimator.predict` accepts: 1 = ON; 0 or -1 = OFF.
POLARITIES = (-1, 0, 1)


@dataclass
class PosePrediction:
    """The prediction for one window.

    Shapes:
        joints2d: (K, 2) pixels in the window's camera (NaN for a window of fewer than
            ``min_events`` events)
        confidence: (K,) in [0, 1] (0 for a window of fewer than ``min_events`` events)
        joints3d: (K, 3) world mm, monocular (intrinsics + extrinsics of the camera)
        joints3d_cam: (K, 3) camera-frame mm
        parts: (N,) part id per graph node (-1 background, and every node of a window of
            fewer than ``min_events`` events), for the events ``node_index``
        node_index: (N,) indices into the window's events of the graph nodes (subsampled)
    """

    joints2d: np.ndarray
    confidence: np.ndarray
    joints3d: np.ndarray
    joints3d_cam: np.ndarray
    parts: np.ndarray
    node_index: np.ndarray

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("joints2d", "confidence", "joints3d", "joints3d_cam", "parts", "node_index")}


@dataclass
class StreamPose(PosePrediction):
    """A pose of a stream (:meth:`PoseEstimator.stream`): the prediction of the window that
    ends at the output time ``t_us``.

    Attributes:
        t_us: the output time (us, the stream's clock); the window holds the events before it.
        t_start_us: the window's first event (constant count) or start (constant duration).
        i0, i1: the window's events, as indices counted from the stream's first event.
        (and every field of :class:`PosePrediction`)
    """

    t_us: int = 0
    t_start_us: int = 0
    i0: int = 0
    i1: int = 0

    @property
    def num_events(self) -> int:
        return self.i1 - self.i0


#: The window of :meth:`PoseEstimator.stream` when the checkpoint does not say: DHP19's 7500 events.
DEFAULT_WINDOW = {"window": "count", "num_events": 7500}


class PoseEstimator:
    """A fine-tuned pose network with its graph builder, ready to predict.

    Args:
        net: the pose part of a trained module (eval mode): a :class:`evpose.tasks.TaskNet`,
            the backbone and the heads of a :class:`~evpose.tasks.Joints2DTask` and optionally
            of a :class:`~evpose.tasks.Joints3DTask` and a :class:`~evpose.tasks.PartsTask`
            (:func:`pose_net`).
        graph: the graph transform the network was trained with.
        device: where the network runs.
        path: the checkpoint it came from (for messages).
        min_events: windows with fewer events get no prediction (NaN joints, confidence
            0); default :data:`MIN_EVENTS` (at least 1).
        window: the windows the network was trained on, ``{"window": "count", "num_events":
            N}`` or ``{"window": "duration", "duration_us": D}`` (what :meth:`stream` cuts;
            default :data:`DEFAULT_WINDOW`; :func:`load_estimator` takes the checkpoint's).
        input_spec: the node feature layout the network was trained on
            (:class:`evpose.data.NodeInputSpec`, or its dict; checkpoints keep it).
        one_thread_below_nodes: graph building, and the network on batches of fewer nodes
            than this, run on one torch thread, whatever ``torch.get_num_threads()`` says
            (default :data:`ONE_THREAD_BELOW_NODES`; 0: never). The graphs of a window (about
            1000 nodes and their pyramid) are too small for torch's intra-op threads: on the
            2-core machine of the README ``predict()`` takes ~22 ms on one thread and ~28 ms on
            two, while a batch of 16 windows gains from two (19 -> 17 ms per window).
        history_us: how much of the camera's stream before a window the TORE node features
            saw in training (``data.history_us``; :func:`load_estimator` takes the
            checkpoint's, 50 ms for the shipped configs); :meth:`predict` uses that much of
            the ``history`` it is given, :meth:`stream` keeps it (default 0: none).
    """

    def __init__(self, net, graph, device="cpu", path: str | None = None, min_events: int = MIN_EVENTS,
                 window: dict | None = None, *, input_spec: NodeInputSpec | dict,
                 one_thread_below_nodes: int = ONE_THREAD_BELOW_NODES, history_us: int = 0):
        if int(min_events) < 1:
            raise ValueError(f"min_events must be >= 1, got {min_events}")
        self.min_events = int(min_events)
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.graph = graph
        inputs = NodeInputSpec.from_dict(input_spec)
        self.transform = PoseGraphTransform(graph, inputs.num_parts)  # the fine-tuning transform, without labels
        if self.transform.input_spec != inputs:
            raise ValueError(f"the graph builder makes node features {self.transform.input_spec}, the network needs {inputs}")
        self.path = path
        self.window = dict(window or DEFAULT_WINDOW)
        if int(one_thread_below_nodes) < 0:
            raise ValueError(f"one_thread_below_nodes must be >= 0, got {one_thread_below_nodes}")
        self.one_thread_below_nodes = int(one_thread_below_nodes)
        if int(history_us) < 0:
            raise ValueError(f"history_us must be >= 0, got {history_us}")
        self.history_us = int(history_us)

    @property
    def num_joints(self) -> int:
        return self._pose_task(Joints2DTask).num_joints

    @property
    def num_parts(self) -> int:
        """P of the parts head (0: the network has none)."""
        parts = self._pose_task(PartsTask, required=False)
        return parts.num_parts if parts is not None else 0

    def _pose_task(self, kind: type, required: bool = True):
        name = _task_of(self.net.tasks, kind)
        if name is None and required:
            raise ValueError(f"the network has no {kind.__name__}")
        return None if name is None else self.net.tasks[name]

    def _pose_outputs(self, outs: dict) -> dict:
        """The pose outputs of :class:`~evpose.tasks.TaskNet`'s ``{task: outputs}``, in one
        dict: ``joints2d``, ``confidence`` and, with their heads, ``joints3d``,
        ``joints3d_cam`` and ``part_logits``."""
        res = {}
        for kind, keys in ((Joints2DTask, ("joints2d", "confidence")), (Joints3DTask, ("joints3d", "joints3d_cam")),
                           (PartsTask, ("part_logits",))):
            name = _task_of(self.net.tasks, kind)
            if name is not None:
                res.update({k: outs[name][k] for k in keys})
        return res

    def graph_of(self, events: np.ndarray, camera: Camera, t_start: int | None = None,
                 history: np.ndarray | None = None):
        """The event graph the network sees for a window (node subsampling as in training;
        ``history`` as in :meth:`predict`)."""
        _check_events(events, camera)
        if history is not None:
            _check_history(history, events, camera)
        return self._graph(events, camera, t_start, history)

    def _graph(self, events: np.ndarray, camera: Camera, t_start: int | None = None,
               history: np.ndarray | None = None):
        """:meth:`graph_of` of events (and history) already checked."""
        from .data.windows import Window

        t0 = int(events["t"][0]) if t_start is None and len(events) else int(t_start or 0)
        t1 = int(events["t"][-1]) + 1 if len(events) else t0
        sample = {"events": events, "camera": camera, "window": Window(camera.name, 0, len(events), t0, t1), "index": 0}
        if self.history_us and history is not None and len(history):
            # the training windows' history: the camera's events of [t_start - history_us, t_start)
            h0 = int(np.searchsorted(history["t"], t0 - self.history_us, side="left"))
            sample["history"] = history[h0:]
        return self.transform(sample)

    @torch.no_grad()
    def predict_many(self, windows: Sequence[tuple], batch_size: int = 16) -> list[PosePrediction]:
        """Predictions for many ``(events, camera)`` or ``(events, camera, history)``
        windows, batched (see :meth:`predict`)."""
        windows = [tuple(w) for w in windows]
        for w in windows:
            if len(w) not in (2, 3):
                raise ValueError(f"a window is (events, camera) or (events, camera, history), got {len(w)} items")
            _check_events(w[0], w[1])
            if len(w) == 3 and w[2] is not None:
                _check_history(w[2], w[0], w[1])
        return self._predict_checked(windows, batch_size)

    @torch.no_grad()
    def _predict_checked(self, windows: Sequence[tuple], batch_size: int) -> list[PosePrediction]:
        """:meth:`predict_many` of windows whose events were checked already (once each)."""
        out: list[PosePrediction] = []
        for i in range(0, len(windows), batch_size):
            chunk = windows[i : i + batch_size]
            live = [k for k, w in enumerate(chunk) if len(w[0]) >= self.min_events]
            with self._threads(0):
                datas = [self._graph(chunk[k][0], chunk[k][1], None, chunk[k][2] if len(chunk[k]) > 2 else None)
                         for k in live]
            host, cls = {}, None
            if len(datas) == 1:  # one window: the network takes its graph as it is (no collation)
                batch, ptr = datas[0].to(self.device), [0, datas[0].num_nodes]
            elif datas:
                batch = Batch.from_data_list(datas).to(self.device)
                ptr = batch.ptr.tolist()
            if datas:
                with self._threads(batch.num_nodes):
                    res = self._pose_outputs(self.net(batch))
                host = {k: res[k].cpu().numpy() for k in ("joints2d", "confidence", "joints3d", "joints3d_cam") if k in res}
                cls = res["part_logits"].argmax(1).cpu().numpy() if "part_logits" in res else None
            nan = np.full((self.num_joints, 3), np.nan)
            graph_of = {k: b for b, k in enumerate(live)}
            for k, w in enumerate(chunk):
                if k not in graph_of:
                    out.append(self._no_prediction(len(w[0])))
                    continue
                b = graph_of[k]
                parts = np.zeros(0, np.int64)
                if cls is not None:
                    c = cls[ptr[b] : ptr[b + 1]]
                    parts = np.where(c == self.num_parts, -1, c).astype(np.int64)
                out.append(PosePrediction(
                    host["joints2d"][b].astype(np.float64), host["confidence"][b].astype(np.float64),
                    host["joints3d"][b].astype(np.float64) if "joints3d" in host else nan.copy(),
                    host["joints3d_cam"][b].astype(np.float64) if "joints3d_cam" in host else nan.copy(),
                    parts, datas[b].node_event.numpy().astype(np.int64)))
        return out

    @contextmanager
    def _threads(self, num_nodes: int):
        """One torch thread while work on ``num_nodes`` nodes runs, if below the threshold."""
        before = torch.get_num_threads()
        one = before > 1 and self.device.type == "cpu" and num_nodes < self.one_thread_below_nodes
        if one:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if one:
                torch.set_num_threads(before)

    def _no_prediction(self, n: int) -> PosePrediction:
        """The answer for a window too sparse to predict from: NaN joints, confidence 0."""
        K = self.num_joints
        nan = lambda d: np.full((K, d), np.nan)  # noqa: E731
        index = self._node_index(n)  # (no graph is built: the subsampling rule says which events it would keep)
        return PosePrediction(nan(2), np.zeros(K), nan(3), nan(3), np.full(len(index), -1, np.int64), index)

    def predict(self, events: np.ndarray, camera: Camera, history: np.ndarray | None = None) -> dict:
        """Joints of one window of events seen by ``camera``.

        Args:
            events: structured array (t, x, y, p[, ...]) of one window, time-ordered, with
                coordinates on ``camera``'s sensor.
            camera: the camera (its intrinsics lift the joints to 3D; extrinsics to the world).
            history: the same camera's events before the window (time-ordered, none after its
                first event), e.g. the recording up to it: the TORE node features see the last
                :attr:`history_us` of them, as in training (the checkpoint's ``data.history_us``;
                nothing if it is 0). Without it the features start from an empty past, as at
                the start of a recording.

        Returns:
            dict with joints2d (K, 2), joints3d (K, 3) world mm, joints3d_cam (K, 3),
            confidence (K,), parts (N,) and node_index (N,). A window of fewer than
            ``min_events`` events (:data:`MIN_EVENTS` by default; an empty one too) gives NaN
            joints with confidence 0 and parts -1.

        Raises:
            ValueError: events outside the camera's sensor (another sensor size), unsorted
                times, or a polarity other than 1 (ON) and 0 or -1 (OFF), naming the value
                and its index; a history that reaches past the window's first event.
        """
        return self.predict_many([(events, camera, history)])[0].as_dict()

    def stream(
        self,
        source: Iterable[np.ndarray],
        camera: Camera,
        rate_hz: float = 100.0,
        num_events: int | None = None,
        duration_us: int | None = None,
        batch_size: int = 1,
        origin_us: int | None = None,
    ) -> Iterator[StreamPose]:
        """Poses at a fixed rate from a stream of event chunks (a live camera, or a recording
        read piece by piece), each from the window of events that ends at its output time.

        Output ``m`` is at ``t_m = origin + round(m * 1e6 / rate_hz)`` us on the stream's
        clock; its window is the ``num_events`` latest events before ``t_m`` (the default,
        with the checkpoint's window size, e.g. 7500 events) or, with ``duration_us``, the
        events of ``[t_m - duration_us, t_m)``. At a rate above 1 / (window span) the windows
        overlap. A pose is yielded as soon as the stream passes its output time (an event at
        or after it arrived) and at the end of the stream for the times up to just after the
        last event; output times before the first full window are skipped. Each pose equals
        :meth:`predict` on its window's events (``pose.i0:pose.i1`` of the stream) with the
        stream before them as history (the last :attr:`history_us`, as in training).

        Work shared by overlapping windows: the events are checked and buffered once per
        chunk, and a buffer holds only what later windows need, so memory stays bounded on
        an endless stream (the windows and their TORE history). The graph and the network run
        once per window (the window's node subsample and TORE features differ from one window
        to the next).

        Args:
            source: an iterable of structured event arrays (t, x, y, p[, ...]; any chunk
                sizes, empty chunks too), time-ordered across chunks, on ``camera``'s sensor;
                or an :class:`evpose.io.EventRecording`, read in chunks of 10 ms.
            camera: the camera that sees the events (with a recording: its name, or one of
                its cameras).
            rate_hz: poses per second of stream time (default 100).
            num_events: events per window (default: the checkpoint's, :attr:`window`).
            duration_us: constant-duration windows instead (default: the checkpoint's when it
                was trained on such windows).
            batch_size: windows completed by one chunk run through the network together, up
                to this many (default 1: the lowest latency).
            origin_us: time of output 0 (default: the first event's).

        Yields:
            :class:`StreamPose`: ``t_us``, ``t_start_us``, ``i0``, ``i1`` and the fields of
            :meth:`predict` (joints2d (K, 2), confidence (K,), joints3d (K, 3), ...).

        Raises:
            TypeError: a chunk that is not a structured array with integer t, x, y, p.
            ValueError: a chunk that goes back in time (or whose times decrease), events
                outside the camera's sensor, or a polarity other than 1 and 0 or -1.
        """
        from .data.stream_windows import StreamWindows, recording_chunks
        from .io import EventRecording

        if isinstance(source, EventRecording):
            name = camera if isinstance(camera, str) else camera.name
            camera = source.camera(name)
            source = recording_chunks(source, name)
        if num_events is None and duration_us is None:
            if self.window.get("window") == "duration":
                duration_us = int(self.window["duration_us"])
            else:
                num_events = int(self.window.get("num_events", DEFAULT_WINDOW["num_events"]))
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        cutter = StreamWindows(rate_hz, num_events=num_events, duration_us=duration_us, origin_us=origin_us,
                               history_us=self.history_us)
        done = False
        chunks = iter(source)
        while not done:
            try:
                chunk = next(chunks)
                windows = cutter.push(chunk)
                if len(chunk):
                    try:
                        _check_events(chunk, camera)
                    except ValueError as e:
                        raise ValueError(f"chunk {cutter.chunks - 1}: {e}") from None
            except StopIteration:
                windows, done = cutter.close(), True
            for a in range(0, len(windows), int(batch_size)):
                part = windows[a : a + int(batch_size)]
                # the chunks were checked as they came: a window's events need no second check
                preds = self._predict_checked([(w.events, camera, w.history) for w in part], int(batch_size))
                for w, p in zip(part, preds):
                    yield StreamPose(**p.as_dict(), t_us=w.t_end, t_start_us=w.t_start, i0=w.i0, i1=w.i1)

    def _node_index(self, n: int) -> np.ndarray:
        """Indices of the graph's nodes in the window's events (the graph builder keeps them
        time-ordered, so they are recovered from the subsampling rule)."""
        from .graph import subsample_indices

        g = self.graph
        keep = subsample_indices(n, g.max_nodes, g.subsample, [int(g.seed), 0] if g.seed is not None else None)
        return np.arange(n, dtype=np.int64) if keep is None else keep.astype(np.int64)

    def __repr__(self) -> str:
        return f"PoseEstimator({self.path!r}, joints={self.num_joints}, device={self.device})"


def load_estimator(path, device: str | torch.device = "cpu", min_events: int = MIN_EVENTS,
                   one_thread_below_nodes: int = ONE_THREAD_BELOW_NODES) -> PoseEstimator:
    """Rebuild a fine-tuned pose network and its graph builder from a checkpoint.

    The checkpoint is read as data only and may name only evpose's own classes
    (:func:`evpose.modules.read_checkpoint`).

    Args:
        path: a ``.ckpt`` written by ``evpose-finetune``.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
        min_events: fewest events of a window that gets a prediction (default :data:`MIN_EVENTS`).
        one_thread_below_nodes: see :class:`PoseEstimator`.

    Raises:
        FileNotFoundError: no such file.
        evpose.modules.CheckpointError: not an evpose fine-tuning checkpoint, or one whose
            weights do not fit the network it describes.
    """
    ckpt = read_checkpoint(path, kind="finetune")  # (in today's format: older files converted)
    hp = ckpt.get("hyper_parameters", {})
    if "backbone" not in hp or "tasks" not in hp or "graph" not in hp or hp["graph"] is None:
        raise CheckpointError(f"{path}: the checkpoint lacks the network or graph configuration")
    try:
        net = pose_net(hp["backbone"], hp["input_spec"], hp["tasks"])
    except ValueError as e:
        raise CheckpointError(f"{path}: {e}") from None
    prefixes = ("net.backbone.", *(f"net.heads.{name}." for name in net.heads))
    state = {k[len("net."):]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefixes)}
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: weights do not fit the network in its configuration ({e})") from None
    graph = build(hp["graph"])
    return PoseEstimator(net, graph, device=device, path=str(Path(path)), min_events=min_events,
                         window=_window_of(hp.get("config")), input_spec=hp["input_spec"],
                         one_thread_below_nodes=one_thread_below_nodes, history_us=_history_of(hp.get("config")))


def pose_net(backbone: dict, input_spec: dict | NodeInputSpec, tasks: dict[str, dict]) -> TaskNet:
    """The pose part of a module's specs: its backbone (as wide as the node features of
    ``input_spec``) and the heads of its pose tasks (``kind == "pose"``, in their order; the
    other tasks, e.g. pretext tasks trained beside them, are left out).

    Raises:
        ValueError: no 2D joints task among them.
    """
    built: dict[str, Task] = {name: build(spec) for name, spec in tasks.items()}
    pose = {name: t for name, t in built.items() if t.kind == "pose"}
    if _task_of(pose, Joints2DTask) is None:
        raise ValueError(f"no 2D joints task among the tasks ({', '.join(tasks)}): not a pose network")
    channels = NodeInputSpec.from_dict(input_spec).channels
    return TaskNet(build(sized_backbone(backbone, channels)), pose)


def _task_of(tasks: dict, kind: type) -> str | None:
    """The name of the first task of class ``kind``, or None."""
    return next((name for name, t in tasks.items() if isinstance(t, kind)), None)


def _history_of(config) -> int:
    """The TORE history of a checkpoint's training windows (``data.history_us``; 0 if none)."""
    data = (config or {}).get("data") or {}
    return int(data.get("history_us") or 0)


def _window_of(config) -> dict:
    """The training windows of a checkpoint's resolved config (its ``data`` section)."""
    data = (config or {}).get("data") or {}
    if data.get("window") == "duration" and data.get("duration_us"):
        return {"window": "duration", "duration_us": int(data["duration_us"])}
    if data.get("num_events"):  # count and count_synced: num_events per camera
        return {"window": "count", "num_events": int(data["num_events"])}
    return dict(DEFAULT_WINDOW)


def _check_history(history: np.ndarray, events: np.ndarray, camera: Camera) -> None:
    """A window's history: valid events of the camera, none after the window's first event."""
    try:
        _check_events(history, camera)
    except ValueError as e:
        raise ValueError(f"history: {e}") from None
    if len(history) and len(events) and int(history["t"][-1]) > int(events["t"][0]):
        raise ValueError(f"history: its last event ({int(history['t'][-1])} us) comes after the window's first "
                         f"({int(events['t'][0])} us); pass the events before the window")


def _check_events(events: np.ndarray, camera: Camera) -> None:
    names = events.dtype.names or ()
    missing = [f for f in ("t", "x", "y", "p") if f not in names]
    if missing:
        raise ValueError(f"events lack field(s) {missing}; expected a structured array with t, x, y, p")
    if len(events) == 0:
        return
    for f, limit in (("x", camera.width), ("y", camera.height)):
        m = int(events[f].max())
        if m >= limit:
            raise ValueError(
                f"events {f} reaches {m} but camera {camera.name!r} is {camera.width}x{camera.height}: "
                "events from a sensor of another size than the camera's"
            )
    p = events["p"]
    bad = np.flatnonzero(~np.isin(p, POLARITIES))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"event polarity {p[i].item()!r} at index {i}; expected 1 (ON) and 0 or -1 (OFF)")
    t = events["t"]
    if len(t) > 1 and np.any(t[1:] < t[:-1]):
        i = int(np.flatnonzero(t[1:] < t[:-1])[0]) + 1
        raise ValueError(f"event timestamps decrease at index {i} ({int(t[i])} after {int(t[i - 1])}); sort the window")
