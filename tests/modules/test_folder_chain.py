"""Unlabelled recordings of another camera: evpose-import -> evpose-pretrain data=folder ->
evpose-finetune from that backbone on the (labelled) synthetic data."""

from __future__ import annotations

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from evpose.cli import _hydra
from evpose.errors import ConfigError
from evpose.io import EventRecording
from evpose.io.import_folder import EventImporter
from tests.helpers import blob_window

from .conftest import FAST

H, W = 96, 128  # not DHP19's 260 x 346


def write_dump(path, seed: int, windows: int = 12) -> None:
    """A CSV dump of a blob moving over a W x H sensor, with faery's size header."""
    parts = []
    for k in range(windows):
        ev = blob_window(1500, seed * 100 + k, centre=(40 + 3 * k, 48), sensor=(H, W), with_parts=False)
        parts.append(np.stack([ev["t"] + 30_000 * k, ev["x"], ev["y"], ev["p"]], axis=1))
    np.savetxt(path, np.concatenate(parts), fmt="%d", delimiter=",", header=f"t,x@{W},y@{H},on", comments="")


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    src = tmp_path_factory.mktemp("dumps")
    for i in range(3):
        write_dump(src / f"rec{i}.csv", i)
    out = tmp_path_factory.mktemp("imported")
    m = EventImporter(progress=False, val_share=0.34).run(src, out)
    assert m["failed"] == [] and {e["split"] for e in m["recordings"]} == {"train", "val"}
    return out


def cfg_of(name, overrides):
    with initialize_config_dir(config_dir=_hydra.CONFIG_PATH, version_base="1.3"):
        return compose(name, overrides=[*FAST, *overrides])


def test_import_pretrain_finetune(imported, tiny_dataset, tmp_path, capsys):
    from evpose.cli.finetune import run as finetune
    from evpose.cli.pretrain import run as pretrain
    from evpose.modules import TaskModule

    with EventRecording(next(imported.glob("*.h5"))) as r:
        assert (r.camera("cam0").height, r.camera("cam0").width) == (H, W) and not r.has_poses
    cfg = cfg_of("pretrain", ["data=folder", f"data.root={imported}", f"paths.output_dir={tmp_path / 'pre'}",
                              "data.num_events=1000", "data.max_train_windows=8"])
    assert list(cfg.pretext) == ["inpaint", "count", "future"]  # the tasks that need no labels
    pre = pretrain(cfg)
    module = TaskModule.load_from_checkpoint(pre["last"], map_location="cpu", kind="pretrain")
    assert set(module.tasks) == {"inpaint", "count", "future"}
    ft = finetune(cfg_of("finetune", [f"data.root={tiny_dataset}", f"paths.output_dir={tmp_path / 'ft'}",
                                      f"pretrained={pre['last']}"]))
    assert ft["pretrained"] == pre["last"]
    out = capsys.readouterr().out
    assert f"backbone initialised from pretraining checkpoint {pre['last']}" in out and "0 missing, 0 unexpected" in out


def test_part_label_tasks_are_refused_on_unlabelled_data(imported, tmp_path):
    from evpose.cli.pretrain import run as pretrain

    cfg = cfg_of("pretrain", ["data=folder", f"data.root={imported}", f"paths.output_dir={tmp_path}",
                              "pretext=[inpaint,refill]"])
    with pytest.raises(ConfigError, match=r"pretext task\(s\) refill need per-event part labels, which .*rec\d.h5 lacks"):
        pretrain(cfg)
