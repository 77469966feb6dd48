"""`make demo`: the evpose pipeline end to end on the synthetic demo data, on the CPU.

1. generate the demo dataset (data/synth/demo) if it is missing      (evpose-synth)
2. self-supervised pretraining                                          (evpose-pretrain)
3. fine-tuning from the pretrained backbone                             (evpose-finetune)
4. evaluation on the test subject next to two baselines                 (evpose-eval)
5. predictions with overlays for one test recording                     (evpose-predict)

Every stage is the command's own code with its default configuration; the run folders
are under logs/demo/<time>/.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

from . import _hydra
from .compose import compose_config
from .errors import one_line_errors


@one_line_errors("make demo")
def main(argv: list[str] | None = None) -> int:
    from ..synth import ensure_demo_data
    from . import eval as eval_cli
    from . import finetune as finetune_cli
    from . import predict as predict_cli
    from . import pretrain as pretrain_cli

    extra = list(sys.argv[1:] if argv is None else argv)  # e.g. trainer=gpu
    root = _hydra.project_root()
    run_dir = root / "logs" / "demo" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    times = {}

    def stage(name, fn):
        print(f"\n=== {name} ===", flush=True)
        t0 = time.perf_counter()
        out = fn()
        times[name] = time.perf_counter() - t0
        return out

    data = stage("1/5 demo data (evpose-synth)", lambda: ensure_demo_data(root / "data"))
    pre = stage("2/5 pretraining (evpose-pretrain)", lambda: pretrain_cli.run(
        compose_config("pretrain", [f"data.root={data}", f"paths.output_dir={run_dir / 'pretrain'}", *extra])))
    ft = stage("3/5 fine-tuning (evpose-finetune)", lambda: finetune_cli.run(
        compose_config("finetune", [f"data.root={data}", f"pretrained={pre['last']}",
                                    f"paths.output_dir={run_dir / 'finetune'}", *extra])))
    ckpt = ft["best"] or ft["last"]
    stage("4/5 evaluation (evpose-eval)", lambda: eval_cli.run(
        compose_config("eval", [f"ckpt_path={ckpt}", f"paths.output_dir={run_dir / 'eval'}"])))
    test_rec = sorted((Path(data) / "test").glob("*.h5"))[0]
    stage("5/5 prediction (evpose-predict)", lambda: predict_cli.run(
        compose_config("predict", [f"ckpt_path={ckpt}", f"input={test_rec}", f"paths.output_dir={run_dir / 'predict'}"])))
    print("\n=== demo done ===")
    print("stage times: " + ", ".join(f"{k.split(' ', 1)[1].split(' (')[0]} {v / 60:.1f} min" for k, v in times.items()))
    print(f"everything is in {run_dir}:")
    print(f"  pretraining checkpoint  {pre['last']}")
    print(f"  pose checkpoint         {ckpt}   (load with evpose.load_estimator)")
    print(f"  evaluation report       {run_dir / 'eval' / 'eval.md'}")
    print(f"  predictions, overlays   {run_dir / 'predict'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
