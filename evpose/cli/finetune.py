"""`evpose-finetune`: train the pose network, optionally from a pretrained backbone (conf/finetune.yaml)."""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from . import _hydra
from .errors import one_line_errors
from .common import check_resume, fit, fit_result, make_trainer, resolved, save_config, task_specs

log = logging.getLogger(__name__)


def find_latest_pretraining(log_dir, data_root) -> Path | None:
    """The newest ``<log_dir>/pretrain/runs/*/checkpoints/last.ckpt`` whose run used the
    dataset at ``data_root`` (read from the ``config.yaml`` saved beside it), or None."""
    runs = Path(log_dir) / "pretrain" / "runs"
    if not runs.is_dir():
        return None
    want = Path(data_root).resolve()
    found = []
    for last in runs.glob("*/checkpoints/last.ckpt"):
        cfg_path = last.parent / "config.yaml"
        try:
            root = OmegaConf.load(cfg_path).data.root
        except Exception:  # an unreadable or foreign config: not a candidate
            continue
        if Path(root).resolve() == want:
            found.append(last)
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def resolve_pretrained(cfg: DictConfig) -> Path | None:
    """The pretraining checkpoint to start from: ``pretrained`` = ``latest`` (the newest
    pretraining run on the same data, or none), ``none``/null, or a path (must exist)."""
    choice = cfg.get("pretrained")
    if choice is None or str(choice).lower() in ("none", "null", "false", "scratch"):
        return None
    if str(choice) == "latest":
        return find_latest_pretraining(cfg.paths.log_dir, cfg.data.root)
    path = Path(str(choice))
    if not path.is_file():
        raise FileNotFoundError(f"pretrained={choice}: no such checkpoint")
    return path


def selected_pose_tasks(cfg: DictConfig) -> DictConfig:
    """The specs of the pose tasks named in ``cfg.pose`` (from ``cfg.pose_tasks``); ``pose``
    null: ``joints2d``, ``joints3d`` and, when the model has part channels
    (``model.num_parts > 0``), ``parts``.

    Raises:
        ConfigError: no task, or a name that is not a task, listing the valid ones.
    """
    names = cfg.get("pose")
    if names is None:
        names = ["joints2d", "joints3d", *(["parts"] if cfg.model.num_parts > 0 else [])]
    return task_specs(cfg, names, "pose_tasks", "pose", "pose=[joints2d,joints3d]")


def selected_aux_pretext(cfg: DictConfig) -> DictConfig | None:
    """The specs of the pretext tasks named in ``cfg.aux_pretext`` (from ``cfg.pretext_tasks``),
    trained beside the pose tasks on the unlabelled training recordings; None when the list
    is empty (or absent): a plain fine-tuning.

    Raises:
        ConfigError: a name that is not a pretext task (listing the valid ones), a name listed
            twice, or one that is also a pose task's name.
    """
    from ..errors import ConfigError

    names = cfg.get("aux_pretext")
    if names is None or len(names) == 0:
        return None
    if not (OmegaConf.is_list(names) or isinstance(names, (list, tuple))):
        raise ConfigError(f"aux_pretext must be a list of pretext tasks, e.g. 'aux_pretext=[count,future]'; got {names!r}")
    return task_specs(cfg, names, "pretext_tasks", "aux_pretext", "aux_pretext=[count,future]")


def run(cfg: DictConfig) -> dict:
    """Fine-tune as ``cfg`` says; returns the checkpoint paths, the run folder and the metrics."""
    from ..data import PoseGraphTransform
    from ..errors import ConfigError
    from ..modules import TaskModule
    from ..pretext import PretextTransform

    aux = selected_aux_pretext(cfg)
    tasks = selected_pose_tasks(cfg)
    if aux is not None:
        clash = sorted(set(aux) & set(tasks))
        if clash:
            raise ConfigError(f"aux_pretext task(s) {', '.join(clash)} have a pose task's name")
        tasks = OmegaConf.merge(tasks, aux)  # the pose tasks first, then the pretext tasks
    resume = check_resume(cfg.get("ckpt_path"), "finetune")
    pretrained = resolve_pretrained(cfg)
    L.seed_everything(cfg.seed, workers=True)
    graph = instantiate(cfg.graph)
    labeller = instantiate(cfg.part_labeller) if cfg.get("part_labeller") else None
    transform = PoseGraphTransform(graph, cfg.model.num_parts, part_labeller=labeller)
    datamodule = instantiate(cfg.data, transform=transform, labels=True)
    datamodule.prepare_data()  # a folder without a dataset is an error now, not after the model is built
    module = TaskModule(
        backbone=cfg.model.backbone,
        input_spec=transform.input_spec,
        tasks=tasks,
        optimizer=cfg.optimizer,
        scheduler=cfg.get("scheduler"),
        graph=cfg.graph,
        config=resolved(cfg),
        stage_weights=cfg.get("stage_weights"),
        freeze_backbone=cfg.freeze_backbone,
        freeze_backbone_steps=cfg.freeze_backbone_steps,
        backbone_lr_factor=cfg.backbone_lr_factor,
        pretext_batch=aux is not None,
    )
    if aux is not None:
        # the pretext tasks' windows: the training recordings outside the labelled subset, corrupted
        # by the same task objects the module trains (as evpose-pretrain does), no labels
        pretext_tasks = {name: module.tasks[name] for name in aux}
        aux_tf = PretextTransform(graph, pretext_tasks, num_parts=cfg.model.num_parts, seed=None, part_labeller=labeller)
        datamodule.unlabelled_transform = aux_tf
        datamodule.unlabelled_follow_batch = aux_tf.query_keys
        from .pretrain import check_part_labels

        check_part_labels(pretext_tasks, datamodule, labeller)
        n_rec = len(datamodule.unlabelled_recordings())
        print(f"aux_pretext: {', '.join(aux)} on {n_rec} unlabelled training recording(s), "
              f"{datamodule.batch_size} windows per step beside the labelled batch")
    if resume is not None:
        print(f"resuming fine-tuning from {resume}")
    elif pretrained is not None:
        report = module.load_pretrained_backbone(pretrained)
        print(f"backbone initialised from pretraining checkpoint {pretrained} "
              f"({len(report['loaded'])} tensors; {len(report['missing'])} missing, {len(report['unexpected'])} unexpected)")
    elif str(cfg.get("pretrained")) == "latest":
        print(f"training from scratch: no pretraining run on {cfg.data.root} under {cfg.paths.log_dir}/pretrain")
    else:
        print(f"training from scratch (pretrained={cfg.get('pretrained')})")
    out_dir = Path(cfg.paths.output_dir)
    save_config(cfg, out_dir / "checkpoints")
    trainer = make_trainer(cfg)
    fit(trainer, module, datamodule, resume)
    result = {**fit_result(trainer, out_dir), "pretrained": str(pretrained) if pretrained is not None else None}
    if trainer.is_global_zero:  # under DDP the first process reports for all
        print(f"fine-tuning done: checkpoint {result['best'] or result['last']}; run folder {out_dir}")
    return result


@hydra.main(version_base="1.3", config_path=_hydra.CONFIG_PATH, config_name="finetune")
@one_line_errors("evpose-finetune")
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
