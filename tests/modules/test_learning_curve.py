"""The learning curve a fine-tuning run writes, and its mean-pose baseline line."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from evpose.cli.finetune import run as finetune


def _plain_mean_pose_mpjpe(train, val) -> float:
    """The mean-pose baseline by hand: the mean world pose of the training windows (per
    joint, over valid samples), projected with each validation window's own K, R, t by a
    plain loop, scored against its visible 2D joints."""
    K = train[0].joints3d.shape[1]
    total, count = np.zeros((K, 3)), np.zeros(K)
    for d in train:
        X, v = d.joints3d[0].double().numpy(), d.valid3d[0].numpy()
        for j in range(K):
            if v[j]:
                total[j] += X[j]
                count[j] += 1
    mean = total / count[:, None]
    errs = []
    for d in val:
        Kc, R, t = d.cam_K[0].double().numpy(), d.cam_R[0].double().numpy(), d.cam_t[0].double().numpy()
        for j in range(K):
            if not bool(d.visible[0, j]):
                continue
            xc = R @ mean[j] + t
            u = Kc @ xc
            uv = u[:2] / u[2]
            errs.append(float(np.linalg.norm(uv - d.joints2d[0, j].double().numpy())))
    return float(np.mean(errs))


def test_finetuning_writes_its_learning_curve_with_the_mean_pose_line(compose_cfg, tmp_path):
    cfg = compose_cfg("finetune", ["pretrained=none", "data.cache=false", "trainer.val_check_interval=0.5"])
    res = finetune(cfg)
    folder = tmp_path / "run"
    with (folder / "learning_curve.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert (folder / "learning_curve.png").stat().st_size > 0
    # 8 training windows in batches of 4, validated every half epoch: after steps 1 and 2
    assert [int(r["step"]) for r in rows] == [1, 2]
    for r in rows:
        assert 0 < float(r["train_minutes"]) <= float(r["wall_minutes"])
        assert math.isfinite(float(r["value"])) and float(r["value"]) > 0
    # at the epoch's end the baseline is the mean of every training window's pose
    from hydra.utils import instantiate

    from evpose.data import PoseGraphTransform

    dm = instantiate(cfg.data, transform=PoseGraphTransform(instantiate(cfg.graph), cfg.model.num_parts), labels=True)
    train, val = dm.dataset("train"), dm.dataset("val")
    want = _plain_mean_pose_mpjpe([train[i] for i in range(len(train))], [val[i] for i in range(len(val))])
    assert float(rows[-1]["baseline"]) == pytest.approx(want, rel=1e-4)
    assert res["last"] is not None
