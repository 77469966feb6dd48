"""PoseEstimator.stream: poses at a fixed rate from event chunks equal predict() on the same windows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evpose.estimator import StreamPose, load_estimator
from evpose.io import EventRecording
from evpose.types import make_events


def random_chunks(ev, rng, max_chunk):
    cuts = np.sort(rng.integers(0, len(ev) + 1, len(ev) // max(max_chunk // 2, 1) + 1))
    return np.split(ev, cuts)  # empty chunks included


@pytest.mark.parametrize("seed, max_chunk, batch_size", [(0, 3000, 1), (1, 200, 3)])
def test_stream_poses_equal_window_by_window_predict(finetuned_ckpt, tiny_dataset, seed, max_chunk, batch_size):
    est = load_estimator(finetuned_ckpt)
    with EventRecording(next((tiny_dataset / "test").glob("*.h5"))) as r:
        cam = r.camera("cam2")
        ev = r.events_slice("cam2", 0, r.num_events("cam2"))
    rng = np.random.default_rng(seed)
    n = est.window["num_events"]
    poses = list(est.stream(random_chunks(ev, rng, max_chunk), cam, rate_hz=50.0, batch_size=batch_size))
    t0 = int(ev["t"][0])
    assert len(poses) >= 5 and all(isinstance(p, StreamPose) for p in poses)
    assert [p.t_us for p in poses] == sorted(p.t_us for p in poses)
    assert all((p.t_us - t0) % 20_000 == 0 for p in poses)  # on the 50 Hz grid
    for p in poses:
        assert p.num_events == n and np.all(ev["t"][p.i0 : p.i1] < p.t_us)
        assert p.i1 == len(ev) or ev["t"][p.i1] >= p.t_us  # every event before t_us up to the window's end
        ref = est.predict(ev[p.i0 : p.i1], cam, history=ev[: p.i0])  # the stream before it: its TORE history
        np.testing.assert_allclose(p.joints2d, ref["joints2d"], rtol=0, atol=1e-4)
        np.testing.assert_allclose(p.joints3d, ref["joints3d"], rtol=0, atol=1e-2)
        np.testing.assert_allclose(p.confidence, ref["confidence"], rtol=0, atol=1e-5)
        np.testing.assert_array_equal(p.node_index, ref["node_index"])
        assert p.t_start_us == int(ev["t"][p.i0])


def test_stream_from_a_recording_and_by_duration(finetuned_ckpt, tiny_dataset):
    est = load_estimator(finetuned_ckpt)
    with EventRecording(next((tiny_dataset / "test").glob("*.h5"))) as r:
        ev = r.events_slice("cam3", 0, r.num_events("cam3"))
        poses = list(est.stream(r, "cam3", rate_hz=40.0, duration_us=30_000))
        cam = r.camera("cam3")
    assert len(poses) >= 5
    for p in poses[:: max(len(poses) // 4, 1)]:
        assert p.t_start_us == p.t_us - 30_000
        window = ev[(ev["t"] >= p.t_start_us) & (ev["t"] < p.t_us)]
        assert p.num_events == len(window)
        ref = est.predict(window, cam, history=ev[ev["t"] < p.t_start_us])
        np.testing.assert_allclose(p.joints2d, ref["joints2d"], rtol=0, atol=1e-4)


def test_stream_refuses_bad_input(finetuned_ckpt, tiny_dataset):
    est = load_estimator(finetuned_ckpt)
    with EventRecording(next((tiny_dataset / "test").glob("*.h5"))) as r:
        cam = r.camera("cam2")
        ev = r.events_slice("cam2", 0, 3000)
    with pytest.raises(ValueError, match="chunk 1 goes back in time"):
        list(est.stream([ev[1000:2000], ev[:1000]], cam))
    with pytest.raises(TypeError, match="chunk 0: events must be a structured array"):
        list(est.stream([np.zeros((10, 4))], cam))
    wrong = ev[:100].copy()
    wrong["p"][3] = 7
    with pytest.raises(ValueError, match=r"chunk 1: event polarity 7 at index 3"):
        list(est.stream([ev[:0], wrong], cam))
    far = make_events([1, 2], [400, 1], [1, 1], [1, 1])
    with pytest.raises(ValueError, match=r"chunk 0: events x reaches 400"):
        list(est.stream([far], cam))
    with pytest.raises(ValueError, match="rate_hz must be a positive"):
        list(est.stream([ev], cam, rate_hz=0))


def test_evpose_predict_stream_writes_the_track(finetuned_ckpt, tiny_dataset, tmp_path, capsys):
    import json

    from evpose.cli.compose import compose_config
    from evpose.cli.predict import run as predict

    rec = next((tiny_dataset / "test").glob("*.h5"))
    est = load_estimator(finetuned_ckpt)
    cfg = compose_config("predict", [f"ckpt_path={finetuned_ckpt}", f"input={rec}", f"paths.output_dir={tmp_path}",
                                     "stream=true", "rate_hz=50", "cameras=[cam2]", f"num_events={est.window['num_events']}"])
    res = predict(cfg)
    printed = capsys.readouterr().out
    assert "poses at 50 Hz" in printed and "real-time factor" in printed
    track = json.loads(open(res["json"]).read())
    poses = track["poses"]
    assert len(poses) >= 5 and track["summary"][0]["poses"] == len(poses)
    with EventRecording(rec) as r:
        ev = r.events_slice("cam2", 0, r.num_events("cam2"))
        cam = r.camera("cam2")
    ref = list(est.stream([ev], cam, rate_hz=50))
    assert [p["t_us"] for p in poses] == [p.t_us for p in ref]
    np.testing.assert_allclose(np.array(poses[-1]["joints2d"]), ref[-1].joints2d, rtol=0, atol=1e-4)
    assert open(res["csv"]).readline().startswith("camera,t_us,t_start_us,joint")


def test_predict_sees_the_training_windows_history(finetuned_ckpt, tiny_dataset):
    """predict(history=...) builds the graph the training transform builds from a dataset
    window with its history (the checkpoint's history_us); a longer history is cut to it, and
    a history reaching into the window is refused."""
    from evpose.data import EventWindowDataset, PoseGraphTransform
    from evpose.data.manifest import split_recordings

    est = load_estimator(finetuned_ckpt)
    assert est.history_us == 50_000
    ds = EventWindowDataset(split_recordings(tiny_dataset, "test"), num_events=est.window["num_events"],
                            history_us=est.history_us)
    i = next(k for k in range(len(ds)) if len(ds.raw_sample(k)["history"]) > 100)
    sample = ds.raw_sample(i)
    train = PoseGraphTransform(est.graph, est.num_parts)(dict(sample, index=0))
    w = sample["window"]
    with EventRecording(sample["recording"]) as r:
        before = r.events_slice(w.camera, 0, w.i0)  # the whole recording before the window
    got = est.graph_of(sample["events"], sample["camera"], history=before)
    assert torch.equal(got.x, train.x) and torch.equal(got.edge_index, train.edge_index)
    plain = est.graph_of(sample["events"], sample["camera"])
    assert not torch.equal(plain.x, train.x)  # the history changes the TORE features
    with pytest.raises(ValueError, match="history: its last event"):
        est.predict(sample["events"][:-10], sample["camera"], history=sample["events"][-10:])
