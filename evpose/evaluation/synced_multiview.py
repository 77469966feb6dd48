"""Multi-view 3D on synchronised windows: every window triangulated from a camera pair and from all its views."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..data.labels import window_label
from ..data.windows import window_history
from ..geometry import triangulate_dlt
from ..metrics import mpjpe, pa_mpjpe, pck3d, per_joint_mpjpe


def group_windows(refs: Sequence) -> list[list]:
    """The synchronised windows of ``refs``: the refs of each ``(recording, window.group)``
    together (cameras sorted by name), windows in the order they first appear. Refs of
    per-camera windows (``group < 0``) are left out."""
    groups: dict[tuple, list] = {}
    for r in refs:
        if r.window.group >= 0:
            groups.setdefault((str(r.path), r.window.group), []).append(r)
    return [sorted(g, key=lambda r: r.window.camera) for g in groups.values()]


def _figures(P, G, V) -> dict:
    return {"mpjpe3d_mm": float(mpjpe(P, G, V)), "pa_mpjpe3d_mm": float(pa_mpjpe(P, G, V)),
            "pck3d_150mm": float(pck3d(P, G, V)), "per_joint_3d_mm": per_joint_mpjpe(P, G, V).tolist()}


def history_us(estimator) -> int:
    """How much TORE history the estimator's windows get (its checkpoint's ``data.history_us``;
    0 for an estimator that does not say)."""
    return int(getattr(estimator, "history_us", 0) or 0)


def evaluate_synced_multiview(estimator, refs: Sequence, cams: Sequence[str], rec_of: Callable, label_rule: str,
                              batch_size: int = 16, all_views: bool = True) -> dict:
    """Triangulate every synchronised window from the 2D predictions of a camera pair
    (DHP19's protocol: cam2 + cam3) and, as an extra row, from all its views, and compare
    with the window's 3D label (the same for all its cameras: they share the time span),
    next to the monocular 3D head of each camera of the pair.

    Plain linear DLT, views not weighted by confidence (see
    :func:`~evpose.evaluation.evaluate_multiview`). A joint is triangulated from the views
    that predict it (a view without a prediction is an empty window): the pair needs both,
    all views at least two. Labelled joints the pair cannot triangulate are counted in
    ``joints_without_both_views`` and left out of the pair's and the monocular figures; the
    all-views row is scored on its own triangulated joints.

    Args:
        estimator: has ``predict_many([(events, camera), ...], batch_size)``.
        refs: window refs of synchronised windows (``window.group >= 0``).
        cams: the camera pair.
        rec_of: path -> open :class:`~evpose.io.EventRecording`.
        label_rule: how window labels are made (``"dhp19"``: DHP19's own).
        all_views: also triangulate from every view of each window.

    Returns:
        ``{"cameras", "num_windows", "windows_without_pair", "window_rule", "label_rule",
        "joints_without_both_views", "triangulated", "monocular_<cam>"..., "triangulated_all"}``
    """
    if len(cams) != 2:
        raise ValueError(f"multiview evaluation takes two cameras, got {list(cams)}")
    a, b = cams
    groups = group_windows(refs)
    complete = [g for g in groups if {a, b} <= {r.window.camera for r in g}]
    H = history_us(estimator)
    out = {"cameras": [a, b], "num_windows": len(complete), "windows_without_pair": len(groups) - len(complete),
           "window_rule": "count_synced", "label_rule": label_rule}
    if not complete:
        out["note"] = f"no synchronised windows with both {a} and {b}"
        return out
    pair, every, mono_a, mono_b, gt, val, views = [], [], [], [], [], [], set()
    for i in range(0, len(complete), batch_size):
        chunk = complete[i : i + batch_size]
        inputs, spans = [], []
        for g in chunk:
            rec = rec_of(g[0].path)
            spans.append((len(inputs), len(g)))
            inputs += [(rec.events_slice(r.window.camera, r.window.i0, r.window.i1), rec.camera(r.window.camera),
                        window_history(rec, r.window, H)) for r in g]
        preds = estimator.predict_many(inputs, batch_size)
        for g, (s, n) in zip(chunk, spans):
            names = [r.window.camera for r in g]
            views.update(names)
            xy = np.stack([np.asarray(p.joints2d, dtype=np.float64) for p in preds[s : s + n]])  # (V, K, 2)
            P = np.stack([w[1].P for w in inputs[s : s + n]])
            seen = np.isfinite(xy).all(axis=-1)  # (V, K)
            ia, ib = names.index(a), names.index(b)
            both = seen[ia] & seen[ib]
            X = triangulate_dlt(np.nan_to_num(xy[[ia, ib]]), P[[ia, ib]])
            pair.append(np.where(both[:, None], X, np.nan))
            if all_views and n >= 2:
                Xall = triangulate_dlt(np.nan_to_num(xy), P, weights=seen.astype(np.float64))
                every.append(np.where((seen.sum(0) >= 2)[:, None], Xall, np.nan))
            else:
                every.append(np.full_like(X, np.nan))
            mono_a.append(np.nan_to_num(preds[s + ia].joints3d))
            mono_b.append(np.nan_to_num(preds[s + ib].joints3d))
            lab = window_label(rec_of(g[0].path), g[0].window, label_rule)
            gt.append(np.nan_to_num(lab.joints3d))
            val.append(lab.valid3d)
    G, V, T, A = np.stack(gt), np.stack(val), np.stack(pair), np.stack(every)
    both = np.isfinite(T).all(axis=-1)
    out["joints_without_both_views"] = int((V & ~both).sum())
    Vp = V & both
    out["triangulated"] = _figures(np.nan_to_num(T), G, Vp)
    out[f"monocular_{a}"] = _figures(np.stack(mono_a), G, Vp)
    out[f"monocular_{b}"] = _figures(np.stack(mono_b), G, Vp)
    if all_views:
        Va = V & np.isfinite(A).all(axis=-1)
        out["triangulated_all"] = {**_figures(np.nan_to_num(A), G, Va), "cameras": sorted(views),
                                   "joints_left_out": int((V & ~Va).sum())}
    return out
