"""`evpose-label-efficiency`: scratch vs pretrained fine-tuning with few labels, and scratch with all
labels, on the same data, evaluated the same way (conf/label_efficiency.yaml)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig

from ..errors import ConfigError
from . import _hydra
from .errors import one_line_errors
from .compose import compose_config

ARMS = {
    "a": "scratch, {pct} labels",
    "b": "pretrained, {pct} labels",
    "c": "scratch, 100% labels",
}


def run(cfg: DictConfig) -> dict:
    from . import eval as eval_cli
    from . import finetune as finetune_cli
    from . import pretrain as pretrain_cli

    le = cfg.label_efficiency
    arms = list(cfg.arms)
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        raise ConfigError(f"unknown arm(s) {unknown}; valid: {', '.join(ARMS)}")
    out = Path(cfg.paths.output_dir)
    common = [f"seed={cfg.seed}", f"data.root={cfg.data_root}"]
    pct = f"{le.label_fraction:.0%}"
    results, timings = {}, {}
    pretrained = cfg.get("pretrained")
    if pretrained is not None:
        if "b" not in arms:
            raise ConfigError("pretrained= is the checkpoint for arm b, but arm b is not in arms")
        if not Path(str(pretrained)).is_file():
            raise FileNotFoundError(f"pretrained={pretrained}: no such checkpoint file")
        pretrained = str(pretrained)
    elif "b" in arms:
        t0 = time.perf_counter()
        pre = pretrain_cli.run(compose_config("pretrain", [*common, *le.pretrain, f"paths.output_dir={out / 'pretrain'}"]))
        timings["pretrain"] = time.perf_counter() - t0
        pretrained = pre["last"]
    for arm in arms:
        frac = 1.0 if arm == "c" else le.label_fraction
        src = f"pretrained={pretrained}" if arm == "b" else "pretrained=none"
        t0 = time.perf_counter()
        ft = finetune_cli.run(compose_config("finetune", [*common, *le.finetune, f"data.label_fraction={frac}", src,
                                                     f"paths.output_dir={out / arm}"]))
        ckpt = ft["best"] or ft["last"]
        report = eval_cli.run(compose_config("eval", [f"ckpt_path={ckpt}", f"data_root={cfg.data_root}", *le.eval,
                                                 f"out_dir={out / arm / 'eval'}", "plots=false",
                                                 f"paths.output_dir={out / arm / 'eval'}"]))
        timings[arm] = time.perf_counter() - t0
        results[arm] = report
    table = _table(results, pct)
    baselines = next(iter(results.values()))["methods"] if results else {}
    lines = [table, ""]
    for key, title in (("mean_pose", "mean training pose"), ("centroid_offsets", "event centroid + mean offsets")):
        if key in baselines:
            m = baselines[key]
            lines.append(f"baseline {title}: MPJPE 2D {m['mpjpe2d_px']:.2f} px, 3D {m['mpjpe3d_mm']:.1f} mm")
    if "a" in results and "b" in results:
        a, b = (results[k]["methods"]["model"]["mpjpe2d_px"] for k in ("a", "b"))
        lines.append(f"pretraining changes the 2D MPJPE with {pct} labels by {100 * (b - a) / a:+.1f}% ({a:.2f} -> {b:.2f} px)")
    lines.append("time: " + ", ".join(f"{k} {v / 60:.1f} min" for k, v in timings.items()))
    text = "\n".join(lines)
    print("\n" + text)
    (out / "label_efficiency.md").write_text(text + "\n")
    summary = {"arms": {k: {"title": ARMS[k].format(pct=pct), **{m: v for m, v in r["methods"]["model"].items()
                                                               if not m.startswith("per_joint")}}
                        for k, r in results.items()},
               "timings_s": timings, "pretrained_checkpoint": pretrained}
    (out / "label_efficiency.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _table(results: dict, pct: str) -> str:
    rows = ["| run | MPJPE 2D (px) | MPJPE 3D (mm) | 3D triangulated cam2+cam3 (mm) | part mIoU |", "| --- | --- | --- | --- | --- |"]
    for arm, r in results.items():
        m = r["methods"]["model"]
        tri = r.get("multiview", {}).get("triangulated", {}).get("mpjpe3d_mm", float("nan"))
        rows.append(f"| ({arm}) {ARMS[arm].format(pct=pct)} | {m['mpjpe2d_px']:.2f} | {m['mpjpe3d_mm']:.1f} | {tri:.1f} | {m.get('part_miou', float('nan')):.3f} |")
    return "\n".join(rows)


@hydra.main(version_base="1.3", config_path=_hydra.CONFIG_PATH, config_name="label_efficiency")
@one_line_errors("evpose-label-efficiency")
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
