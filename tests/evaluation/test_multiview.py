"""Multi-view evaluation: triangulating two cameras' predictions, empty windows left out."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from evpose.data.labels import window_label
from evpose.evaluation.runner import collect_windows, evaluate_multiview
from evpose.io import EventRecording
from evpose.metrics import mpjpe


class FixedPoseEstimator:
    """Predicts the projection of one fixed 3D pose in every window, and nothing (NaN, as for
    an empty window) for the windows numbered in ``blind`` (counted over calls)."""

    def __init__(self, X, blind=()):
        self.X, self.blind, self.calls = X, set(blind), 0

    def predict_many(self, windows, batch_size=16):
        out = []
        for w in windows:  # (events, camera) or (events, camera, history)
            cam = w[1]
            j2 = cam.project(self.X) if self.calls not in self.blind else np.full((len(self.X), 2), np.nan)
            out.append(SimpleNamespace(joints2d=j2, joints3d=self.X.copy(), confidence=np.ones(len(self.X))))
            self.calls += 1
        return out


def test_triangulation_of_exact_projections_and_empty_windows(tiny_dataset):
    path = sorted((tiny_dataset / "test").glob("*.h5"))[0]
    refs = [r for r in collect_windows([path], ["cam2"], num_events=2000, min_events=500)][:6]
    assert len(refs) >= 4
    with EventRecording(path) as rec:
        labels = [window_label(rec, r.window, "mean") for r in refs]
        X = np.nan_to_num(labels[0].joints3d) + np.array([30.0, -20.0, 10.0])  # a pose near the body
        opened = {path: rec}
        # the cam3 predictions come second in each batch of the runner: blind the first window's cam3
        est = FixedPoseEstimator(X, blind={len(refs)})
        out = evaluate_multiview(est, refs, ["cam2", "cam3"], lambda p: opened[p], "mean", batch_size=len(refs))
    G = np.stack([np.nan_to_num(l.joints3d) for l in labels])
    V = np.stack([l.valid3d for l in labels])
    V[0] = False  # window 0 has no cam3 prediction: left out of every multi-view figure
    expected = float(mpjpe(np.repeat(X[None], len(G), axis=0), G, V))
    assert out["joints_without_both_views"] == int(labels[0].valid3d.sum()) > 0
    # exact projections triangulate back to X (to float precision), and the monocular head predicts X too
    assert abs(out["triangulated"]["mpjpe3d_mm"] - expected) < 1e-3 * max(expected, 1.0)
    assert abs(out["monocular_cam2"]["mpjpe3d_mm"] - expected) < 1e-6 * max(expected, 1.0)
    assert np.isfinite(out["triangulated"]["pa_mpjpe3d_mm"])


def test_evaluation_windows_get_the_training_history(tiny_dataset):
    """Every window the runner predicts comes with its camera's events of [t_start - history_us,
    t_start) (what the training windows' TORE saw), the second camera's by time."""
    from evpose.data import EventWindowDataset
    from evpose.evaluation.runner import evaluate

    path = sorted((tiny_dataset / "test").glob("*.h5"))[0]
    refs = [r for r in collect_windows([path], ["cam2"], num_events=2000, min_events=500)][:5]

    class Recording(FixedPoseEstimator):
        history_us = 20_000

        def predict_many(self, windows, batch_size=16):
            self.seen = getattr(self, "seen", []) + [w[2] for w in windows]
            out = super().predict_many(windows, batch_size)
            for o in out:
                o.joints3d, o.parts, o.node_index = o.joints3d, np.zeros(0, np.int64), np.zeros(0, np.int64)
            return out

    with EventRecording(path) as rec:
        X = np.nan_to_num(window_label(rec, refs[0].window, "mean").joints3d)
        est = Recording(X)
        evaluate(est, refs, multiview=("cam2", "cam3"), batch_size=len(refs))
        ds = EventWindowDataset([path], cameras=["cam2"], num_events=2000, history_us=20_000, min_events=500)
        for r, h in zip(refs, est.seen[: len(refs)]):  # the per-window pass: as the dataset's history
            k = next(i for i, (_, w) in enumerate(ds.windows) if w == r.window)
            np.testing.assert_array_equal(h, ds.raw_sample(k)["history"])
        n = len(refs)
        assert len(est.seen) == 3 * n  # the windows, then each pair's cam2 and cam3
        for r, h in zip(refs, est.seen[n : 2 * n]):
            np.testing.assert_array_equal(h, est.seen[refs.index(r)])
        for r, h in zip(refs, est.seen[2 * n :]):  # the second camera, by time
            np.testing.assert_array_equal(h, rec.events("cam3", r.window.t_start - 20_000, r.window.t_start))
    assert sum(len(h) > 0 for h in est.seen[:n]) >= n - 1  # only a recording's first window has none
