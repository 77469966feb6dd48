"""Evaluation on synchronised windows: every window triangulated, the report names its rules."""

from __future__ import annotations

import numpy as np

from evpose.data.labels import window_label
from evpose.evaluation import collect_windows, describe_windows, evaluate, group_windows, to_markdown
from evpose.evaluation.synced_multiview import evaluate_synced_multiview
from evpose.io import EventRecording
from evpose.metrics import mpjpe
from tests.evaluation.test_multiview import FixedPoseEstimator


class NoPartsEstimator(FixedPoseEstimator):
    """FixedPoseEstimator whose predictions also carry the (empty) fields evaluate() reads."""

    def predict_many(self, windows, batch_size=16):
        out = super().predict_many(windows, batch_size)
        for p in out:
            p.parts, p.node_index = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return out


def test_every_synced_window_is_triangulated(tiny_dataset):
    path = sorted((tiny_dataset / "test").glob("*.h5"))[0]
    refs = collect_windows([path], None, num_events=1000, window="count_synced", label_rule="dhp19", max_windows=6)
    groups = group_windows(refs)
    assert len(groups) == 6 and len(refs) == 12
    for g in groups:
        assert [r.window.camera for r in g] == ["cam2", "cam3"]
        a, b = (r.window for r in g)
        assert (a.t_start, a.t_end, a.pose0, a.pose1) == (b.t_start, b.t_end, b.pose0, b.pose1)
        assert a.num_events + b.num_events == 2000  # 1000 per camera and window, counted over both
    with EventRecording(path) as rec:
        labels = [window_label(rec, g[0].window, "dhp19") for g in groups]
        X = np.nan_to_num(labels[0].joints3d) + np.array([30.0, -20.0, 10.0])
        out = evaluate_synced_multiview(FixedPoseEstimator(X), refs, ["cam2", "cam3"], lambda p: rec, "dhp19",
                                        batch_size=4)
    G = np.stack([np.nan_to_num(lab.joints3d) for lab in labels])
    V = np.stack([lab.valid3d for lab in labels])
    expected = float(mpjpe(np.repeat(X[None], len(G), axis=0), G, V))
    assert out["num_windows"] == 6 and out["windows_without_pair"] == 0 and out["joints_without_both_views"] == 0
    assert (out["window_rule"], out["label_rule"], out["cameras"]) == ("count_synced", "dhp19", ["cam2", "cam3"])
    assert abs(out["triangulated"]["mpjpe3d_mm"] - expected) < 1e-3 * max(expected, 1.0)
    assert out["triangulated_all"]["cameras"] == ["cam2", "cam3"]
    assert abs(out["triangulated_all"]["mpjpe3d_mm"] - expected) < 1e-3 * max(expected, 1.0)


def test_report_names_window_rule_cameras_and_label_rule(tiny_dataset):
    path = sorted((tiny_dataset / "test").glob("*.h5"))[0]
    refs = collect_windows([path], None, num_events=1000, window="count_synced", label_rule="dhp19", max_windows=3)
    with EventRecording(path) as rec:
        X = np.nan_to_num(window_label(rec, refs[0].window, "dhp19").joints3d)
    report = evaluate(NoPartsEstimator(X), refs, label_rule="dhp19", batch_size=4)
    assert report["num_windows"] == 6 and report["multiview"]["num_windows"] == 3
    report["context"] = {"windows": describe_windows("count_synced", 7500, "dhp19")}
    text = to_markdown(report)
    assert "3 synchronised windows, every one triangulated" in text
    assert "Window rule: count_synced" in text and "cameras: cam2 + cam3" in text and "label rule: dhp19" in text
    assert "triangulation of all views (cam2, cam3)" in text
    assert "7500 x (number of counted cameras)" in text and "both included" in text
