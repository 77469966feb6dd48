"""model.num_parts=0 (no part input, no parts head) works end to end: pretraining without
refill, fine-tuning from it, prediction from the checkpoint alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from evpose.cli.finetune import run as finetune
from evpose.cli.pretrain import run as pretrain, selected_tasks
from evpose.data import NodeInputSpec
from evpose.estimator import load_estimator
from evpose.io import EventRecording
from evpose.pretext import PretextTransform


def test_pretrain_finetune_predict_without_parts(compose_cfg, tiny_dataset, tmp_path):
    pre = pretrain(compose_cfg("pretrain", ["model.num_parts=0", "pretext=[inpaint,count,future]",
                                            f"paths.output_dir={tmp_path / 'pre'}"]))
    hp = torch.load(pre["last"], map_location="cpu", weights_only=True)["hyper_parameters"]
    assert hp["input_spec"] == {"tore_k": 4, "num_parts": 0}
    res = finetune(compose_cfg("finetune", ["model.num_parts=0", f"pretrained={pre['last']}",
                                            f"paths.output_dir={tmp_path / 'ft'}"]))
    assert res["pretrained"] == pre["last"]
    est = load_estimator(res["last"])
    assert "parts" not in est.net.heads and est.num_parts == 0
    assert est.net.backbone.in_channels == NodeInputSpec(4, 0).channels == 9
    with EventRecording(next((tiny_dataset / "test").glob("*.h5"))) as r:
        cam = r.camera("cam2")
        ev = r.events_slice("cam2", 0, 3000)
    out = est.predict(ev, cam)
    assert np.isfinite(out["joints2d"]).all() and out["joints2d"].shape == (13, 2)
    assert len(out["parts"]) == 0 and 0 < len(out["node_index"]) <= 400


def test_refill_without_part_input_is_refused(compose_cfg):
    cfg = compose_cfg("pretrain", ["model.num_parts=0", "pretext=[inpaint,refill]"])
    tasks = {n: instantiate(s) for n, s in selected_tasks(cfg).items()}
    with pytest.raises(ValueError, match=r"refill work on the part-label input, which num_parts=0 leaves out"):
        PretextTransform(instantiate(cfg.graph), tasks, num_parts=0)
