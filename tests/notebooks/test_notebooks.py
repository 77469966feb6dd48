"""Every notebook runs top to bottom on the demo data (nbclient, a kernel per run).

Notebook 03 runs twice: without a checkpoint (it must explain how to make one) and with a
small randomly initialised pretraining checkpoint written here, so the test depends on no
training run. The demo data is generated first when missing (a few minutes, once).
"""

from __future__ import annotations

import time
from pathlib import Path

import lightning as L
import nbformat
import pytest
import torch
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT_S = 300

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_data():
    from evpose.synth import ensure_demo_data

    return ensure_demo_data(progress=None)


def execute(name: str) -> tuple[nbformat.NotebookNode, float]:
    """Run a notebook with the repository root as working folder; returns it and its wall time."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    return nb, time.perf_counter() - t0


def text_of(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def images_of(nb) -> int:
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebooks_are_stored_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{name}: cells {dirty} hold outputs; clear them before committing"


def test_01_events_and_tore(demo_data):
    nb, seconds = execute("01_events_and_tore.ipynb")
    assert images_of(nb) >= 7, "every figure cell shows its figure"
    assert "windows of 7500 events" in text_of(nb)
    print(f"01 ran in {seconds:.0f} s")


def test_02_event_graphs(demo_data):
    nb, seconds = execute("02_event_graphs.ipynb")
    out = text_of(nb)
    assert images_of(nb) >= 5
    assert "| r (px) | cap | edges |" in out and "level 2:" in out
    print(f"02 ran in {seconds:.0f} s")


def test_03_pretext_tasks_without_a_checkpoint(demo_data, monkeypatch):
    monkeypatch.setenv("EVPOSE_PRETRAIN_CKPT", "none")
    nb, seconds = execute("03_pretext_tasks.ipynb")
    out = text_of(nb)
    assert "No pretraining checkpoint" in out and "evpose-pretrain" in out
    assert images_of(nb) == 4  # the corruption and targets of each task, no prediction
    print(f"03 (no checkpoint) ran in {seconds:.0f} s")


def write_random_checkpoint(folder: Path) -> Path:
    """A pretraining checkpoint as Lightning writes it, with untrained weights (small backbone)."""
    from evpose.cli.common import resolved
    from evpose.cli.compose import compose_config
    from evpose.cli.pretrain import selected_tasks
    from evpose.data import NodeInputSpec
    from evpose.modules import TaskModule

    cfg = compose_config("pretrain", [f"paths.output_dir={folder}", "model.backbone.hourglass.channels=[16,24,32]"])
    module = TaskModule(backbone=cfg.model.backbone, input_spec=NodeInputSpec(cfg.graph.tore_k, cfg.model.num_parts),
                        tasks=selected_tasks(cfg), optimizer=cfg.optimizer,
                        scheduler=cfg.get("scheduler"), graph=cfg.graph, config=resolved(cfg))
    path = folder / "checkpoints" / "last.ckpt"
    path.parent.mkdir(parents=True)
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams),
                "pytorch-lightning_version": L.__version__}, path)
    (folder / "csv").mkdir()
    (folder / "csv" / "metrics.csv").write_text("epoch,step,val/loss,val/inpaint/f1,val/inpaint/baseline_f1_prior\n"
                                                "0,10,4.0,0.5,0.4\n1,20,3.0,0.6,0.4\n")
    return path


def test_03_pretext_tasks_with_a_checkpoint(demo_data, monkeypatch, tmp_path):
    ckpt = write_random_checkpoint(tmp_path / "run")
    monkeypatch.setenv("EVPOSE_PRETRAIN_CKPT", str(ckpt))
    nb, seconds = execute("03_pretext_tasks.ipynb")
    out = text_of(nb)
    assert f"checkpoint: {ckpt}" in out
    for task in ("inpaint", "count", "refill", "future"):
        assert f"{task:>8}: " in out and "baselines:" in out  # the metrics over windows
    assert images_of(nb) == 5  # four task figures with predictions, and the training curves
    print(f"03 (checkpoint) ran in {seconds:.0f} s")


def write_random_pose_checkpoint(folder: Path) -> Path:
    """A fine-tuning checkpoint as Lightning writes it, with untrained weights (small backbone)."""
    from evpose.cli.common import resolved
    from evpose.cli.compose import compose_config
    from evpose.data import NodeInputSpec
    from evpose.cli.finetune import selected_pose_tasks
    from evpose.modules import TaskModule

    cfg = compose_config("finetune", [f"paths.output_dir={folder}", "model.backbone.hourglass.channels=[16,24,32]"])
    module = TaskModule(backbone=cfg.model.backbone, input_spec=NodeInputSpec(cfg.graph.tore_k, cfg.model.num_parts),
                        tasks=selected_pose_tasks(cfg), optimizer=cfg.optimizer, graph=cfg.graph, config=resolved(cfg),
                        backbone_lr_factor=cfg.backbone_lr_factor)
    ckpt = {"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams),
            "pytorch-lightning_version": L.__version__}
    module.on_save_checkpoint(ckpt)
    path = folder / "checkpoints" / "last.ckpt"
    path.parent.mkdir(parents=True)
    torch.save(ckpt, path)
    return path


def test_04_finetune_and_predict_without_a_checkpoint(demo_data, monkeypatch):
    monkeypatch.setenv("EVPOSE_FINETUNE_CKPT", "none")
    nb, _ = execute("04_finetune_and_predict.ipynb")
    out = text_of(nb)
    assert "No fine-tuning checkpoint" in out and "make demo" in out and "evpose-finetune" in out
    assert images_of(nb) == 0


def test_04_finetune_and_predict_with_a_checkpoint(demo_data, monkeypatch, tmp_path):
    ckpt = write_random_pose_checkpoint(tmp_path / "run")
    monkeypatch.setenv("EVPOSE_FINETUNE_CKPT", str(ckpt))
    nb, seconds = execute("04_finetune_and_predict.ipynb")
    out = text_of(nb)
    assert f"checkpoint: {ckpt}" in out and "MPJPE 2D" in out and "per-node part accuracy" in out
    assert images_of(nb) == 5  # overlays, 3D pose, two per-joint bars, parts
    print(f"04 ran in {seconds:.0f} s")
