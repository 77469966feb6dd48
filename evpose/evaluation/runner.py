"""Evaluating a pose estimator on the windows of a test split, next to the baselines."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..data.labels import window_label
from ..data.window_index import recording_windows
from ..data.windows import Window, window_history
from ..geometry import triangulate_dlt
from ..io import EventRecording
from ..metrics import (
    auc_pck,
    mean_iou,
    mpjpe,
    pa_mpjpe,
    pck,
    pck3d,
    per_joint_mpjpe,
)
from ..types import NUM_PARTS, part_class
from .baselines import CentroidOffsetBaseline, MeanPoseBaseline
from .synced_multiview import evaluate_synced_multiview, group_windows, history_us

log = logging.getLogger(__name__)


@dataclass
class WindowRef:
    """A window of one recording (path) of one camera (``window.group >= 0``: one camera's
    view of a synchronised window)."""

    path: Path
    window: Window


def collect_windows(recordings: Sequence[Path], cameras: Sequence[str] | None, num_events: int = 7500,
                    max_windows: int | None = None, min_events: int = 1, window: str = "count",
                    label_rule: str | None = None, count_cameras: Sequence[str] | None = None) -> list[WindowRef]:
    """The windows of the given cameras of every recording (an evenly spaced subset of
    ``max_windows`` when given).

    Args:
        window: ``"count"`` (each camera on its own clock) or ``"count_synced"`` (DHP19's
            frames: ``num_events * len(count_cameras)`` events of the counted cameras, every
            camera cut at the same times; see :func:`~evpose.data.synced_count_windows`).
            Synchronised windows are kept whole: ``min_events`` does not apply (DHP19 scores
            every frame, and triangulation needs every view), and ``max_windows`` counts
            windows, each with all its views.
        label_rule: ``"dhp19"`` gives each window DHP19's label samples and stops where DHP19 does.
        count_cameras: the cameras counted by ``"count_synced"`` (default: all of the recording).
    """
    if window not in ("count", "count_synced"):
        raise ValueError(f"evaluation windows are 'count' or 'count_synced', got {window!r}")
    refs: list[WindowRef] = []
    for path in recordings:
        with EventRecording(path) as rec:
            names = rec.camera_names if cameras is None else list(cameras)
            missing = [c for c in names if c not in rec.cameras]
            if missing:
                raise KeyError(f"{path}: no camera(s) {missing}; cameras: {rec.camera_names}")
            ws = recording_windows(rec, names, window, num_events, count_cameras=count_cameras, label_rule=label_rule)
            refs += [WindowRef(Path(path), w) for w in ws if window == "count_synced" or w.num_events >= min_events]
    if window == "count_synced":
        groups = group_windows(refs)
        if max_windows is not None and len(groups) > max_windows:
            idx = np.linspace(0, len(groups) - 1, max_windows).round().astype(int)
            groups = [groups[i] for i in idx]
        return [r for g in groups for r in g]
    if max_windows is not None and len(refs) > max_windows:
        idx = np.linspace(0, len(refs) - 1, max_windows).round().astype(int)
        refs = [refs[i] for i in idx]
    return refs


@dataclass
class MethodResult:
    """Predictions of one method on every window. Shapes: (M, K, 2) and (M, K, 3)."""

    joints2d: list = field(default_factory=list)
    joints3d: list = field(default_factory=list)


def _metrics(pred2d, pred3d, gt2d, vis, gt3d, valid3d) -> dict:
    out = {
        "mpjpe2d_px": float(mpjpe(pred2d, gt2d, vis)),
        "pck5": float(pck(pred2d, gt2d, 5.0, vis)),
        "pck10": float(pck(pred2d, gt2d, 10.0, vis)),
        "mpjpe3d_mm": float(mpjpe(pred3d, gt3d, valid3d)),
        "pa_mpjpe3d_mm": float(pa_mpjpe(pred3d, gt3d, valid3d)),
        "pck3d_150mm": float(pck3d(pred3d, gt3d, valid3d)),
        "auc_0_150mm": float(auc_pck(pred3d, gt3d, valid3d)),
        "per_joint_2d_px": per_joint_mpjpe(pred2d, gt2d, vis).tolist(),
        "per_joint_3d_mm": per_joint_mpjpe(pred3d, gt3d, valid3d).tolist(),
    }
    return out


def fit_baselines(train_refs: Sequence[WindowRef], label_rule: str = "mean") -> dict:
    """Fit the two baselines on training windows (labels and event centroids)."""
    j3, j2, j3c, cents = [], [], [], []
    opened: dict[Path, EventRecording] = {}
    try:
        for ref in train_refs:
            rec = opened.get(ref.path) or opened.setdefault(ref.path, EventRecording(ref.path))
            w = ref.window
            lab = window_label(rec, w, label_rule)
            cam = rec.camera(w.camera)
            ev = rec.events_slice(w.camera, w.i0, w.i1, fields=())
            j3.append(lab.joints3d)
            j2.append(np.where(lab.visible[:, None], lab.joints2d, np.nan))
            j3c.append(np.where(lab.valid3d[:, None], cam.world_to_camera(np.nan_to_num(lab.joints3d)), np.nan))
            cents.append(CentroidOffsetBaseline.centroid(ev))
    finally:
        for r in opened.values():
            r.close()
    return {
        "mean_pose": MeanPoseBaseline(np.stack(j3)),
        "centroid_offsets": CentroidOffsetBaseline(np.stack(cents), np.stack(j2), np.stack(j3c)),
    }


def evaluate(estimator, refs: Sequence[WindowRef], baselines: dict | None = None, label_rule: str = "mean",
             multiview: Sequence[str] | None = ("cam2", "cam3"), batch_size: int = 16,
             multiview_all: bool = True) -> dict:
    """Every metric of the estimator (and the baselines) on the windows.

    Args:
        estimator: a :class:`evpose.PoseEstimator`.
        refs: the test windows (:func:`collect_windows`).
        baselines: ``{name: baseline}`` (:func:`fit_baselines`).
        label_rule: how window labels are made (``"mean"``: DHP19).
        multiview: two cameras whose simultaneous predictions are triangulated; None: skip.
            Synchronised windows (``window.group >= 0``): every window, from the two
            cameras' views (:func:`evaluate_synced_multiview`); per-camera windows: the
            windows of the first camera, the events of the second in the same time span.
        multiview_all: on synchronised windows, also triangulate from all their views.

    Returns:
        ``{"num_windows", "methods": {name: metrics}, "multiview": {...}, "examples": [...]}``
    """
    baselines = baselines or {}
    gt2d, vis, gt3d, valid3d = [], [], [], []
    results = {"model": MethodResult(), **{k: MethodResult() for k in baselines}}
    conf_all, part_pred, part_true = [], [], []
    opened: dict[Path, EventRecording] = {}

    def rec_of(path):
        return opened.get(path) or opened.setdefault(path, EventRecording(path))

    H = history_us(estimator)
    try:
        for i in range(0, len(refs), batch_size):
            chunk = refs[i : i + batch_size]
            windows, labels = [], []
            for ref in chunk:
                rec = rec_of(ref.path)
                w = ref.window
                windows.append((rec.events_slice(w.camera, w.i0, w.i1), rec.camera(w.camera), window_history(rec, w, H)))
                labels.append(window_label(rec, w, label_rule))
            preds = estimator.predict_many(windows, batch_size=batch_size)
            for (ev, cam, _), lab, pr in zip(windows, labels, preds):
                gt2d.append(lab.joints2d)
                vis.append(lab.visible)
                gt3d.append(np.nan_to_num(lab.joints3d))
                valid3d.append(lab.valid3d)
                results["model"].joints2d.append(np.nan_to_num(pr.joints2d))
                results["model"].joints3d.append(np.nan_to_num(pr.joints3d))
                conf_all.append(pr.confidence)
                if "part" in (ev.dtype.names or ()) and len(pr.parts):
                    t = ev["part"][pr.node_index].astype(np.int64)
                    part_true.append(part_class(t))
                    part_pred.append(part_class(pr.parts))
                for name, bl in baselines.items():
                    b = bl.predict(ev, cam)
                    results[name].joints2d.append(np.nan_to_num(b["joints2d"]))
                    results[name].joints3d.append(np.nan_to_num(b["joints3d"]))
        G2, V, G3, V3 = (np.stack(a) for a in (gt2d, vis, gt3d, valid3d))
        G2 = np.nan_to_num(G2)
        report = {"num_windows": len(refs), "methods": {}, "examples": _examples(refs, results["model"], G2, V, G3, V3)}
        for name, r in results.items():
            report["methods"][name] = _metrics(np.stack(r.joints2d), np.stack(r.joints3d), G2, V, G3, V3)
        if part_true:
            report["methods"]["model"]["part_miou"] = float(mean_iou(np.concatenate(part_pred), np.concatenate(part_true), NUM_PARTS + 1))
        report["methods"]["model"]["mean_confidence"] = float(np.mean(conf_all)) if conf_all else float("nan")
        if multiview and any(r.window.group >= 0 for r in refs):
            report["multiview"] = evaluate_synced_multiview(estimator, refs, list(multiview), rec_of, label_rule,
                                                            batch_size, all_views=multiview_all)
        elif multiview:
            report["multiview"] = evaluate_multiview(estimator, refs, list(multiview), rec_of, label_rule, batch_size)
            report["multiview"]["window_rule"] = "count"
            report["multiview"]["label_rule"] = label_rule
        return report
    finally:
        for r in opened.values():
            r.close()


def _examples(refs, model: MethodResult, G2, V, G3, V3, names=("best", "median", "worst")) -> list[dict]:
    """The windows of smallest, median and largest model 2D error, with their poses (for plots)."""
    P2, P3 = np.stack(model.joints2d), np.stack(model.joints3d)
    err = np.linalg.norm(P2 - G2, axis=-1)
    per = np.where(V.any(1), (err * V).sum(1) / np.maximum(V.sum(1), 1), np.nan)
    ok = np.flatnonzero(np.isfinite(per))
    if ok.size == 0:
        return []
    order = ok[np.argsort(per[ok])]
    picks = dict(zip(names, (order[0], order[len(order) // 2], order[-1])))
    out = []
    for name, i in picks.items():
        w = refs[i].window
        out.append({"which": name, "recording": str(refs[i].path), "camera": w.camera, "i0": w.i0, "i1": w.i1,
                    "mpjpe2d_px": float(per[i]), "pred2d": P2[i].tolist(), "true2d": G2[i].tolist(),
                    "visible": V[i].tolist(), "pred3d": P3[i].tolist(), "true3d": G3[i].tolist(), "valid3d": V3[i].tolist()})
    return out


def evaluate_multiview(estimator, refs, cams: list[str], rec_of, label_rule: str, batch_size: int) -> dict:
    """Triangulate the predictions of two cameras over the same time spans (linear DLT) and
    compare with the 3D labels, next to the monocular 3D head of each camera.

    The two views are not weighted by their confidences: with two views each one is needed
    for depth, and a near-zero weight on one leaves the point free along the other's ray
    (metres off; DHP19's protocol triangulates the plain 2D predictions). A joint without a
    prediction in both views (an empty window) is not triangulated: it is counted in
    ``joints_without_both_views`` and left out of every method's multi-view figures."""
    if len(cams) != 2:
        raise ValueError(f"multiview evaluation takes two cameras, got {cams}")
    a, b = cams
    H = history_us(estimator)
    pairs = [r for r in refs if r.window.camera == a]
    if not pairs or not all(b in rec_of(r.path).cameras for r in pairs):
        return {"cameras": cams, "num_windows": 0, "note": f"no windows of {a} with a simultaneous {b}"}
    tri, mono_a, mono_b, gt, val = [], [], [], [], []
    for i in range(0, len(pairs), batch_size):
        chunk = pairs[i : i + batch_size]
        wa, wb, labs = [], [], []
        for ref in chunk:
            rec = rec_of(ref.path)
            w = ref.window
            wa.append((rec.events_slice(a, w.i0, w.i1), rec.camera(a), window_history(rec, w, H)))
            wb.append((rec.events(b, w.t_start, w.t_end), rec.camera(b), rec.events(b, w.t_start - H, w.t_start) if H else None))
            labs.append(window_label(rec, w, label_rule))
        pa, pb = estimator.predict_many(wa, batch_size), estimator.predict_many(wb, batch_size)
        for (_, ca, _), (_, cb, _), lab, qa, qb in zip(wa, wb, labs, pa, pb):
            xy = np.stack([qa.joints2d, qb.joints2d])
            seen = np.isfinite(xy).all(axis=(0, 2))  # a joint needs a prediction in both views
            X = triangulate_dlt(np.nan_to_num(xy), np.stack([ca.P, cb.P]))
            tri.append(np.where(seen[:, None], X, np.nan))
            mono_a.append(np.nan_to_num(qa.joints3d))
            mono_b.append(np.nan_to_num(qb.joints3d))
            gt.append(np.nan_to_num(lab.joints3d))
            val.append(lab.valid3d)
    G, V, T = np.stack(gt), np.stack(val), np.stack(tri)
    # every method on the same joints: those with a 3D label and a prediction in both views
    both = np.isfinite(T).all(axis=-1)
    out = {"cameras": cams, "num_windows": len(pairs), "joints_without_both_views": int((V & ~both).sum())}
    V = V & both
    for name, P in (("triangulated", np.nan_to_num(T)), (f"monocular_{a}", np.stack(mono_a)),
                    (f"monocular_{b}", np.stack(mono_b))):
        out[name] = {
            "mpjpe3d_mm": float(mpjpe(P, G, V)),
            "pa_mpjpe3d_mm": float(pa_mpjpe(P, G, V)),
            "pck3d_150mm": float(pck3d(P, G, V)),
            "per_joint_3d_mm": per_joint_mpjpe(P, G, V).tolist(),
        }
    return out
