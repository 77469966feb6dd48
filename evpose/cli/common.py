"""What the training commands share: seeding, callbacks and loggers from config, run summary."""

from __future__ import annotations

import inspect
import logging
import os
import warnings
from pathlib import Path

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ..modules.build import to_plain

log = logging.getLogger(__name__)


def quiet_known_warnings() -> None:
    """Silence warnings that say nothing about the run: the resolved config.yaml that evpose
    writes into the checkpoint folder, deprecations inside Lightning, and Lightning's doubt
    about resuming inside an epoch (EventDataModule keeps the loader's position itself)."""
    warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    warnings.filterwarnings("ignore", message=r".*`torch.jit.script` is deprecated.*")
    warnings.filterwarnings("ignore", message=r"You're resuming from a checkpoint that ended before the epoch ended")


def set_cpu_threads(cfg: DictConfig) -> int:
    """Torch's intra-op threads for the run: ``cfg.num_threads`` if set, else on the CPU the
    cores left over by the data-loading workers (at least 1), shared among the processes
    of a CPU DDP run (``trainer.devices``). Two threads fighting one busy core run many times
    slower than one thread, so a worker must not share a core with them.
    """
    import torch

    n = cfg.get("num_threads")
    if n is None:
        accel = str(cfg.trainer.get("accelerator", "cpu"))
        if accel not in ("cpu", "auto") or (accel == "auto" and torch.cuda.is_available()):
            return torch.get_num_threads()
        devices = cfg.trainer.get("devices", 1)
        processes = int(devices) if isinstance(devices, int) and devices > 1 else 1
        n = max(1, ((os.cpu_count() or 1) - processes * int(cfg.data.get("num_workers", 0) or 0)) // processes)
    torch.set_num_threads(int(n))
    return int(n)


def instantiate_dict(cfg: DictConfig | None) -> list:
    """Instantiate every entry of a ``{name: spec}`` node (callbacks, loggers)."""
    if not cfg:
        return []
    return [instantiate(spec) for spec in cfg.values() if spec is not None and "_target_" in spec]


def make_trainer(cfg: DictConfig) -> L.Trainer:
    """The Lightning trainer of a run, with its callbacks and loggers."""
    quiet_known_warnings()
    set_cpu_threads(cfg)
    return instantiate(cfg.trainer, callbacks=instantiate_dict(cfg.get("callbacks")), logger=instantiate_dict(cfg.get("logger")) or False)


def check_resume(ckpt_path, kind: str) -> Path | None:
    """The checkpoint a run resumes from, checked like any evpose checkpoint (it exists, is
    plain data, is of this ``kind``), or None when the run starts afresh."""
    from ..modules.checkpoints import read_checkpoint

    if ckpt_path is None or str(ckpt_path) == "":
        return None
    path = Path(str(ckpt_path))
    if not path.is_file():
        raise FileNotFoundError(f"ckpt_path={ckpt_path}: no such checkpoint to resume from")
    read_checkpoint(path, kind=kind)
    return path


def fit(trainer: L.Trainer, module, datamodule, resume: Path | None) -> None:
    """``trainer.fit``, resuming from ``resume`` (a checkpoint :func:`check_resume` accepted;
    Lightning loads it as data only) or from scratch (None). A run resumed in its own folder
    keeps the metrics it logged up to the checkpoint (:func:`keep_logged_metrics`)."""
    if resume is None:
        trainer.fit(module, datamodule=datamodule)
        return
    keep_logged_metrics(trainer, resume)
    kwargs = {"weights_only": True} if "weights_only" in inspect.signature(trainer.fit).parameters else {}
    trainer.fit(module, datamodule=datamodule, ckpt_path=str(resume), **kwargs)


def keep_logged_metrics(trainer: L.Trainer, resume: Path) -> int:
    """Keep the rows of a CSV logger's ``metrics.csv`` logged before the step of ``resume``
    (the checkpoint the run resumes from; later rows are logged again), which Lightning
    would delete when the resumed run opens the same file. Returns the number of rows kept.

    The file is read, the logger's writer is opened (Lightning deletes the file there), and
    the rows are written back under their own header; the resumed run then appends.
    """
    import csv

    from lightning.pytorch.loggers import CSVLogger

    from ..modules.checkpoints import read_checkpoint

    kept, step = 0, None
    if trainer.global_rank != 0:  # rank 0 alone writes the CSV logs
        return kept
    for logger in trainer.loggers:
        if not isinstance(logger, CSVLogger):
            continue
        path = Path(logger.log_dir) / "metrics.csv"
        if not path.is_file():
            continue
        if step is None:  # read only when there are logs to keep
            step = int(read_checkpoint(resume)["global_step"])
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            header = list(reader.fieldnames or [])
            rows = [r for r in reader if r.get("step") not in (None, "") and int(r["step"]) < step]
        writer = logger.experiment  # opening it deletes the file
        writer.metrics_keys = sorted(header)
        with open(path, "w", newline="") as f:
            out = csv.DictWriter(f, fieldnames=writer.metrics_keys)
            out.writeheader()
            out.writerows(rows)
        kept += len(rows)
        log.info("resuming at step %d: kept the %d rows of %s logged before it", step, len(rows), path)
    return kept


def save_config(cfg: DictConfig, folder: Path) -> Path:
    """Write the resolved config of a run (``config.yaml``) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(OmegaConf.to_yaml(cfg, resolve=True))
    return path


def resolved(cfg: DictConfig) -> dict:
    """The whole resolved config as plain values (what checkpoints carry)."""
    return to_plain(cfg)


def fit_result(trainer: L.Trainer, out_dir: Path) -> dict:
    """What a finished ``trainer.fit`` leaves: the run folder, ``last.ckpt`` and the best
    checkpoint (None without a checkpoint callback), and the final scalar metrics."""
    ckpt = trainer.checkpoint_callback
    monitored = next((c for c in trainer.checkpoint_callbacks if getattr(c, "monitor", None)), ckpt)
    return {
        "run_dir": str(out_dir),
        "last": str(Path(ckpt.dirpath) / "last.ckpt") if ckpt is not None and ckpt.dirpath else None,
        "best": monitored.best_model_path if monitored is not None else None,
        "metrics": {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1},
    }


def task_specs(cfg: DictConfig, names, group: str, what: str, example: str) -> DictConfig:
    """The specs of the tasks ``names`` (in that order) from ``cfg[group]``; ``what`` (``"pretext"``,
    ``"pose"``) and ``example`` (a valid selection) are for the messages.

    Raises:
        ConfigError: no task, a name that is not a task (listing the valid ones), or a
            name listed twice.
    """
    from ..errors import ConfigError

    names = list(names or [])
    valid = sorted(cfg.get(group) or {})
    if not names:
        raise ConfigError(f"no {what} task selected; e.g. {example}; valid: {', '.join(valid)}")
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ConfigError(f"unknown {what} task(s) {', '.join(map(repr, unknown))}; valid: {', '.join(valid)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"{what} task listed twice in {names}")
    return OmegaConf.create({n: OmegaConf.to_container(cfg[group][n], resolve=True) for n in names})

