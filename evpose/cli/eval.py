"""`evpose-eval`: JSON + Markdown report of every metric of a checkpoint on a test split (conf/eval.yaml)."""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig

from ..errors import ConfigError
from ..io.manifest import DatasetError
from . import _hydra
from .errors import one_line_errors

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> dict:
    """Evaluate ``cfg.ckpt_path``; returns the report (also written to ``cfg.out_dir``)."""
    from ..data.manifest import split_recordings
    from ..estimator import load_estimator
    from ..evaluation import collect_windows, describe_windows, evaluate, fit_baselines, write_report
    from ..modules.checkpoints import read_checkpoint

    ckpt_path = Path(cfg.ckpt_path)
    estimator = load_estimator(ckpt_path, device=cfg.device)
    train_cfg = (read_checkpoint(ckpt_path).get("hyper_parameters", {}).get("config") or {})
    root = cfg.data_root or (train_cfg.get("data") or {}).get("root")
    if root is None:
        raise ConfigError(f"{ckpt_path}: no data root in the checkpoint's config; pass data_root=...")
    # null window settings: those the checkpoint was trained with (its data config), else DHP19-like defaults
    data_cfg = train_cfg.get("data") or {}

    def setting(key, default):
        v = cfg.get(key)
        return v if v is not None else (data_cfg.get(key) if data_cfg.get(key) is not None else default)

    window, num_events, label_rule = setting("window", "count"), int(setting("num_events", 7500)), setting("label_rule", "mean")
    if window not in ("count", "count_synced"):
        raise ConfigError(f"window={window!r}: evpose-eval takes count or count_synced windows")
    count_cameras = setting("count_cameras", None) if window == "count_synced" else None
    count_cameras = None if count_cameras is None else list(count_cameras)
    kw = dict(window=window, label_rule=label_rule, count_cameras=count_cameras)
    test = collect_windows(split_recordings(root, cfg.split), cfg.cameras, num_events, cfg.max_windows, cfg.min_events, **kw)
    if not test:
        raise DatasetError(f"{root}: split {cfg.split!r} has no {window} windows of {num_events} events")
    train = collect_windows(split_recordings(root, "train"), cfg.cameras, num_events, cfg.baseline_windows, cfg.min_events, **kw)
    print(f"evaluating {ckpt_path} on {len(test)} {cfg.split} windows of {root}; baselines fitted on {len(train)} training windows")
    report = evaluate(estimator, test, fit_baselines(train, label_rule), label_rule,
                      multiview=cfg.multiview, batch_size=cfg.batch_size, multiview_all=cfg.get("multiview_all", True))
    report["context"] = {
        "checkpoint": str(ckpt_path),
        "dataset": str(root),
        "split": cfg.split,
        "cameras": "all" if cfg.cameras is None else ", ".join(cfg.cameras),
        "windows": describe_windows(window, num_events, label_rule, count_cameras),
        "pretrained backbone": str((train_cfg.get("pretrained") if train_cfg else None)),
        "label fraction": str(((train_cfg.get("data") or {}).get("label_fraction")) if train_cfg else None),
    }
    out = Path(cfg.out_dir)
    j, m = write_report(report, out)
    if cfg.plots:
        from ..evaluation.plots import write_eval_plots

        write_eval_plots(report, out / "plots")
    print((out / "eval.md").read_text().split("## Per joint")[0])
    print(f"report: {j} and {m}" + (f"; plots in {out / 'plots'}" if cfg.plots else ""))
    return report


@hydra.main(version_base="1.3", config_path=_hydra.CONFIG_PATH, config_name="eval")
@one_line_errors("evpose-eval")
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
