"""`evpose-pretrain`: self-supervised pretraining (conf/pretrain.yaml)."""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig

from ..errors import ConfigError
from . import _hydra
from .errors import one_line_errors
from .common import check_resume, fit, fit_result, make_trainer, resolved, save_config, task_specs

log = logging.getLogger(__name__)


def selected_tasks(cfg: DictConfig) -> DictConfig:
    """The specs of the tasks named in ``cfg.pretext`` (from ``cfg.pretext_tasks``).

    Raises:
        ConfigError: no task, or a name that is not a task, listing the valid ones.
    """
    return task_specs(cfg, cfg.get("pretext"), "pretext_tasks", "pretext", "pretext=[inpaint,count]")


def check_part_labels(tasks: dict, datamodule, labeller) -> None:
    """Refuse tasks whose encoder requires part labels (``part_labels="required"``) on data
    without them (and no part labeller), e.g. imported recordings; say which tasks leave
    something out there (``"optional"``).

    Raises:
        ConfigError: naming the task, the dataset and the tasks that need no labels.
    """
    from ..io import EventRecording

    if labeller is not None:
        return
    first = datamodule.recordings("train")[0]
    with EventRecording(first, check=False) as r:
        labelled = all(r.has_labels(cam, "part") for cam in r.camera_names)
    if labelled:
        return
    needing = [n for n, t in tasks.items() if t.encoder.part_labels == "required"]
    if needing:
        raise ConfigError(
            f"pretext task(s) {', '.join(needing)} need per-event part labels, which {first} lacks (imported recordings "
            "have none, and without poses the part labeller cannot make them); leave them out, e.g. "
            "pretext=[inpaint,count,future] (the default of data=folder)"
        )
    for name in (n for n, t in tasks.items() if t.encoder.part_labels == "optional"):
        log.info("%s: no part labels in %s: what it predicts of the parts is left out", name, first)


def run(cfg: DictConfig) -> dict:
    """Pretrain as ``cfg`` says; returns the paths of the checkpoints and the run folder."""
    from ..data.node_inputs import NodeInputSpec
    from ..modules import TaskModule
    from ..pretext import PretextTransform
    from ..pretext.summary import pretext_table

    specs = selected_tasks(cfg)
    resume = check_resume(cfg.get("ckpt_path"), "pretrain")
    L.seed_everything(cfg.seed, workers=True)
    graph = instantiate(cfg.graph)
    labeller = instantiate(cfg.part_labeller) if cfg.get("part_labeller") else None
    # the tasks are built once, by the module (from their specs, as a checkpoint rebuilds them);
    # the data transforms run the same tasks' encoders
    module = TaskModule(
        backbone=cfg.model.backbone,
        input_spec=NodeInputSpec(graph.tore_k, cfg.model.num_parts),
        tasks=specs,
        optimizer=cfg.optimizer,
        scheduler=cfg.get("scheduler"),
        graph=cfg.graph,
        config=resolved(cfg),
    )
    tasks = module.tasks
    train_tf = PretextTransform(graph, tasks, num_parts=cfg.model.num_parts, seed=None, part_labeller=labeller)
    val_tf = PretextTransform(graph, tasks, num_parts=cfg.model.num_parts, seed=cfg.seed, part_labeller=labeller)
    # pose labels are not used by the losses; the part labeller needs the 2D pose of each window
    datamodule = instantiate(cfg.data, transform=train_tf, eval_transform=val_tf, follow_batch=train_tf.query_keys,
                             labels=bool(cfg.data.get("labels")) and labeller is not None)
    datamodule.prepare_data()  # a folder without a dataset is an error before any training
    check_part_labels(tasks, datamodule, labeller)
    out_dir = Path(cfg.paths.output_dir)
    save_config(cfg, out_dir / "checkpoints")
    trainer = make_trainer(cfg)
    log.info("pretext tasks: %s", ", ".join(f"{n} (weight {t.weight:g})" for n, t in tasks.items()))
    if resume is not None:
        print(f"resuming pretraining from {resume}")
    fit(trainer, module, datamodule, resume)
    result = fit_result(trainer, out_dir)
    if not trainer.is_global_zero:  # under DDP the first process reports (and writes) for all
        return result
    table = pretext_table(result["metrics"])
    if table:
        print("\nvalidation, last epoch:\n" + table)
        (out_dir / "pretext_metrics.md").write_text(table + "\n")
    print(f"pretraining done: checkpoint {result['last']} (best: {result['best']}); run folder {out_dir}")
    return result


@hydra.main(version_base="1.3", config_path=_hydra.CONFIG_PATH, config_name="pretrain")
@one_line_errors("evpose-pretrain")
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
