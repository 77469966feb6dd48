"""The pretraining summary pairs each metric with its baselines and judges the direction."""

from __future__ import annotations

import math

from evpose.pretext.summary import last_logged, lower_is_better, pretext_comparison, pretext_table


def test_pairs_metrics_with_their_baselines_in_the_right_direction():
    metrics = {
        "val/inpaint/f1": 0.7, "val/inpaint/baseline_f1_prior": 0.6, "val/inpaint/loss": 0.3,
        "val/count/mae": 2.5, "val/count/baseline_mae_mean": 2.0,
        "val/future/motion_epe": 1.0, "val/future/baseline_motion_epe_zero": 2.0,
        "val/future/baseline_motion_epe_constant": float("nan"),
        "train/count/mae": 0.1, "val/loss": 1.0,
    }
    rows = pretext_comparison(metrics)
    got = {(r["task"], r["metric"], r["baseline"]): r["better"] for r in rows}
    assert got == {
        ("count", "mae", "mean"): False,          # 2.5 > 2.0 and lower is better
        ("future", "motion_epe", "constant"): None,
        ("future", "motion_epe", "zero"): True,
        ("inpaint", "f1", "prior"): True,
    }
    assert lower_is_better("mae_ms") and lower_is_better("motion_epe") and not lower_is_better("miou")
    table = pretext_table(metrics)
    assert table.count("\n") == 2 + len(rows) - 1 and "| count | mae (lower is better) | 2.500 | mean | 2.000 | no |" in table
    assert pretext_table({"val/loss": 1.0}) == ""


def test_last_logged_reads_the_last_value_of_each_column(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("epoch,step,val/count/mae,train/loss\n0,9,,5.0\n0,9,3.0,\n1,19,,4.0\n1,19,2.0,\n")
    last = last_logged(path)
    assert last == {"epoch": 1.0, "step": 19.0, "val/count/mae": 2.0, "train/loss": 4.0}
    assert math.isfinite(last["val/count/mae"])
