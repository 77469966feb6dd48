"""`evpose-pretrain`: self-supervised pretraining (conf/pretrain.yaml)."""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig

from . import _hydra
from .common import make_trainer, resolved, save_config

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> dict:
    """Pretrain as ``cfg`` says; returns the paths of the checkpoints and the run folder."""
    from ..modules import PretrainModule
    from ..pretext import PretextTransform

    L.seed_everything(cfg.seed, workers=True)
    if not cfg.get("pretext"):
        raise ValueError("no pretext task selected; e.g. pretext=[inpaint,count,refill,future]")
    tasks = {name: instantiate(spec) for name, spec in cfg.pretext.items()}
    graph = instantiate(cfg.graph)
    labeller = instantiate(cfg.part_labeller) if cfg.get("part_labeller") else None
    train_tf = PretextTransform(graph, tasks, num_parts=cfg.model.num_parts, seed=None, part_labeller=labeller)
    val_tf = PretextTransform(graph, tasks, num_parts=cfg.model.num_parts, seed=cfg.seed, part_labeller=labeller)
    datamodule = instantiate(cfg.data, transform=train_tf, eval_transform=val_tf, follow_batch=train_tf.query_keys)
    module = PretrainModule(
        backbone=cfg.model.backbone,
        tasks=cfg.pretext,
        optimizer=cfg.optimizer,
        scheduler=cfg.get("scheduler"),
        graph=cfg.graph,
        config=resolved(cfg),
    )
    out_dir = Path(cfg.paths.output_dir)
    save_config(cfg, out_dir / "checkpoints")
    trainer = make_trainer(cfg)
    log.info("pretext tasks: %s", ", ".join(f"{n} (weight {t.weight:g})" for n, t in tasks.items()))
    trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    ckpt = trainer.checkpoint_callback
    result = {
        "run_dir": str(out_dir),
        "last": str(Path(ckpt.dirpath) / "last.ckpt") if ckpt is not None and ckpt.dirpath else None,
        "best": ckpt.best_model_path if ckpt is not None else None,
        "metrics": {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1},
    }
    print(f"pretraining done: checkpoint {result['last']} (best: {result['best']}); run folder {out_dir}")
    return result


@hydra.main(version_base="1.3", config_path=_hydra.CONFIG_PATH, config_name="pretrain")
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
