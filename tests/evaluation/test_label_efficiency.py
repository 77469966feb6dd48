"""Label-efficiency aggregation against hand-computed numbers: mean and sample std over
seeds, the change pretraining makes, the issue's checks, the ablation's verdicts, tables."""

from __future__ import annotations

import math

import pytest

from evpose.evaluation.label_efficiency import (
    ablation,
    arm_metrics,
    difference,
    issue_checks,
    paired_difference,
    summarize,
    sweep_results,
    verdict,
)
from evpose.evaluation.label_efficiency_report import ablation_markdown, sweep_markdown


def arm(init, fraction, seed, mpjpe2d, tri, tasks=None, mpjpe3d=500.0, miou=0.1, recordings=4):
    return {"name": f"{init}_{fraction}_{seed}", "init": init, "tasks": tasks if init == "pretrained" else None,
            "fraction": fraction, "seed": seed, "recordings": recordings, "of_recordings": 42, "steps": 100,
            "metrics": {"mpjpe2d_px": mpjpe2d, "mpjpe3d_mm": mpjpe3d, "triangulated_mm": tri, "part_miou": miou},
            "baseline": {"mpjpe2d_px": 18.25, "mpjpe3d_mm": 188.7}}


def sweep_arms(pretrained_tri=(250.0, 250.0, 250.0), full2d=16.0):
    arms = [arm("scratch", 0.1, s, v, t) for s, v, t in zip((0, 1, 2), (20.0, 22.0, 24.0), (300.0, 310.0, 320.0))]
    arms += [arm("pretrained", 0.1, s, v, t, tasks="all") for s, v, t in zip((0, 1, 2), (16.0, 17.0, 18.0), pretrained_tri)]
    arms += [arm("scratch", 1.0, 0, full2d, 200.0, recordings=42), arm("pretrained", 1.0, 0, 15.0, 190.0, "all", recordings=42)]
    return arms


def test_summarize_is_the_mean_and_the_sample_std():
    s = summarize([1.0, 2.0, 3.0, 4.0])
    assert s["mean"] == 2.5 and s["n"] == 4 and s["std"] == pytest.approx(math.sqrt(5 / 3))
    assert summarize([5.0]) == {"mean": 5.0, "std": None, "n": 1}
    assert math.isnan(summarize([1.0, float("nan")])["mean"])  # a failed arm is not dropped
    assert summarize([])["n"] == 0


def test_difference_relative_change_and_standard_error():
    d = difference(summarize([20.0, 22.0, 24.0]), summarize([16.0, 17.0, 18.0]))
    # means 22 and 17; stds 2 and 1; se = sqrt(4/3 + 1/3)
    assert d["diff"] == -5.0 and d["relative"] == pytest.approx(-5 / 22) and d["se"] == pytest.approx(math.sqrt(5 / 3))
    assert difference(summarize([2.0]), summarize([1.0, 3.0]))["se"] is None


def test_paired_difference_by_seed():
    # per seed: 16-20, 19-22, 18-24 -> -4, -3, -6: mean -13/3, std sqrt(7/3), se std / sqrt(3)
    d = paired_difference({0: 20.0, 1: 22.0, 2: 24.0}, {2: 18.0, 0: 16.0, 1: 19.0})
    assert d["paired"] is True and d["diff"] == pytest.approx(-13 / 3)
    assert d["relative"] == pytest.approx(-13 / 3 / 22) and d["se"] == pytest.approx(math.sqrt(7 / 3) / math.sqrt(3))
    # the unpaired error of the same numbers is larger: the seeds' shared difficulty cancels in pairs
    assert difference(summarize([20.0, 22.0, 24.0]), summarize([16.0, 19.0, 18.0]))["se"] > d["se"]
    # different seed sets, or one seed: independent samples
    u = paired_difference({0: 20.0, 1: 22.0, 2: 24.0}, {0: 16.0, 1: 17.0, 5: 18.0})
    assert u["paired"] is False and u["se"] == pytest.approx(math.sqrt(5 / 3))
    one = paired_difference({0: 20.0}, {0: 19.0})
    assert one["paired"] is False and one["se"] is None and one["diff"] == -1.0


def test_sweep_groups_changes_and_checks():
    res = sweep_results(sweep_arms())
    keys = [(g["fraction"], g["init"]) for g in res["groups"]]
    assert keys == [(0.1, "scratch"), (0.1, "pretrained"), (1.0, "scratch"), (1.0, "pretrained")]
    s10 = res["groups"][0]
    assert s10["seeds"] == [0, 1, 2] and s10["recordings"] == [4] and s10["of_recordings"] == 42
    assert s10["metrics"]["mpjpe2d_px"] == {"mean": 22.0, "std": 2.0, "n": 3}
    assert s10["metrics"]["triangulated_mm"]["mean"] == 310.0
    ch = {c["fraction"]: c["metrics"] for c in res["changes"]}
    assert ch[0.1]["mpjpe2d_px"]["relative"] == pytest.approx(-5 / 22)
    # the same seeds in both inits: paired (per-seed differences -4, -5, -6: se 1 / sqrt(3))
    assert ch[0.1]["mpjpe2d_px"]["paired"] is True and ch[0.1]["mpjpe2d_px"]["se"] == pytest.approx(1 / math.sqrt(3))
    assert s10["values"]["mpjpe2d_px"] == {0: 20.0, 1: 22.0, 2: 24.0}
    assert ch[0.1]["triangulated_mm"]["diff"] == -60.0
    assert ch[1.0]["mpjpe2d_px"]["relative"] == pytest.approx(-1 / 16) and ch[1.0]["mpjpe2d_px"]["se"] is None
    # 22.7% lower 2D and lower triangulation: met; 17 vs 16 px is +6.25%, within 10%: met
    assert res["checks"]["target"]["met"] is True and "-22.7%" in res["checks"]["target"]["text"]
    assert res["checks"]["stretch"]["met"] is True and "+6.2%" in res["checks"]["stretch"]["text"]
    assert res["baseline"] == {"mpjpe2d_px": 18.25, "mpjpe3d_mm": 188.7}


def test_checks_not_met_and_not_measured():
    groups = sweep_results(sweep_arms(pretrained_tri=(330.0, 330.0, 330.0), full2d=15.0))["groups"]
    c = issue_checks(groups)
    # 2D is 22.7% lower but the triangulation is worse (330 vs 310): not met
    assert c["target"]["met"] is False and "not lower" in c["target"]["text"]
    assert c["stretch"]["met"] is False and "+13.3%" in c["stretch"]["text"]  # 17 / 15 - 1
    assert issue_checks(groups, cut=0.25)["target"]["met"] is False
    only_scratch = [g for g in groups if g["init"] == "scratch"]
    c = issue_checks(only_scratch)
    assert c["target"]["met"] is None and c["stretch"]["met"] is None and "not measured" in c["target"]["text"]
    assert issue_checks(groups, fraction=0.05)["target"]["met"] is None


def test_ablation_rows_and_verdicts():
    arms = [arm("scratch", 0.1, s, v, 300.0) for s, v in zip((0, 1, 2), (20.0, 22.0, 24.0))]
    arms += [arm("pretrained", 0.1, s, v, 300.0, tasks="inpaint") for s, v in zip((0, 1, 2), (16.0, 17.0, 18.0))]
    arms += [arm("pretrained", 0.1, s, v, 300.0, tasks="count") for s, v in zip((0, 1, 2), (21.5, 22.0, 22.5))]
    arms += [arm("pretrained", 0.1, 0, 23.0, 300.0, tasks="refill")]
    rows = ablation(arms)
    assert [r["tasks"] for r in rows] == ["none (scratch)", "inpaint", "count", "refill"]
    assert rows[0]["change_2d"] is None and rows[1]["metrics"]["mpjpe2d_px"]["mean"] == 17.0
    assert rows[1]["verdict"] == "helps"  # -5 px, paired se 0.58
    assert rows[2]["change_2d"]["diff"] == 0.0 and rows[2]["verdict"].startswith("no clear effect")
    assert rows[3]["verdict"] == "higher (one seed: spread unknown)"
    assert verdict({"diff": 3.0, "se": 1.0, "relative": 0.1}) == "hurts"


def test_arm_metrics_from_an_eval_report():
    report = {"methods": {"model": {"mpjpe2d_px": 20.0, "mpjpe3d_mm": 400.0, "part_miou": 0.2, "pck10": 0.3},
                          "mean_pose": {"mpjpe2d_px": 18.0, "mpjpe3d_mm": 190.0}},
              "multiview": {"triangulated": {"mpjpe3d_mm": 250.0}}}
    m, b = arm_metrics(report)
    assert m == {"mpjpe2d_px": 20.0, "mpjpe3d_mm": 400.0, "triangulated_mm": 250.0, "part_miou": 0.2}
    assert b == {"mpjpe2d_px": 18.0, "mpjpe3d_mm": 190.0}
    m, _ = arm_metrics({"methods": {"model": {"mpjpe2d_px": 1.0, "mpjpe3d_mm": 2.0}}})
    assert math.isnan(m["triangulated_mm"]) and math.isnan(m["part_miou"])


def test_tables():
    text = sweep_markdown(sweep_results(sweep_arms()), context=["budget: 100 steps"])
    assert "- budget: 100 steps" in text
    assert "| 10% (4 of 42 recordings) | scratch | 3 | 22.00 ± 2.00 | 500.0 ± 0.0 | 310.0 ± 10.0 | 0.100 ± 0.000 |" in text
    assert "| 100% (42 of 42 recordings) | scratch | 1 | 16.00 | 500.0 | 200.0 | 0.100 |" in text
    assert "| 10% | -22.7% (-5.00 ± 0.58 px) |" in text  # paired by seed: se 1 / sqrt(3)
    assert "paired standard error of the difference 0.58 px" in text
    assert "**met**" in text and "mean training pose" in text and "18.25 px" in text
    assert "3 of the 4 rows above have a lower mean 2D MPJPE" in text  # 17, 16 and 15 px beat 18.25 px
    rows = ablation([arm("scratch", 0.1, 0, 20.0, 300.0), arm("pretrained", 0.1, 0, 19.0, 300.0, tasks="all")])
    text = ablation_markdown(rows, {"mpjpe2d_px": 18.25, "mpjpe3d_mm": 188.7})
    assert "| none (scratch) | 1 | 20.00 |" in text
    assert "| all | 1 | 19.00 | 500.0 | 300.0 | 0.100 | -5.0% (-1.00 px) | lower (one seed: spread unknown) |" in text
