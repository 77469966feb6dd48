"""Training curves from Lightning's metrics.csv: parsing, grouping with baselines, panels."""

from __future__ import annotations

import os
import time

import pytest

from evpose.viz import find_metrics_csv, group_metrics, plot_training_curves, read_metrics_csv

# what Lightning's CSVLogger writes: one column per logged name, empty cells where a row
# does not log it (train rows per step, validation rows per epoch)
CSV = """epoch,step,lr-AdamW,train/loss_step,train/loss_epoch,train/inpaint/loss_step,val/loss,val/inpaint/f1,val/inpaint/baseline_f1_prior,val/count/mae,val/count/baseline_mae_mean,val/refill/miou,val/refill/baseline_miou_nearest,val/refill/baseline_miou_majority,val/future/motion_epe,val/future/baseline_motion_epe_zero
0,9,0.001,5.0,,1.5,,,,,,,,,,
0,19,0.002,4.0,,1.2,,,,,,,,,,
0,19,,,4.5,,4.2,0.4,0.5,1.3,1.4,0.2,0.8,0.1,2.0,2.5
1,29,0.002,3.0,,nan,,,,,,,,,,
1,39,,,3.2,,3.9,0.6,0.5,1.1,1.4,0.3,0.8,0.1,1.5,2.5
"""


@pytest.fixture
def run_dir(tmp_path):
    d = tmp_path / "run" / "csv"
    d.mkdir(parents=True)
    (d / "metrics.csv").write_text(CSV)
    return tmp_path / "run"


def test_read_metrics_skips_empty_and_non_finite(run_dir):
    s = read_metrics_csv(run_dir / "csv" / "metrics.csv")
    assert s["train/loss_step"] == [(9.0, 5.0), (19.0, 4.0), (29.0, 3.0)]
    assert s["train/inpaint/loss_step"] == [(9.0, 1.5), (19.0, 1.2)]  # nan dropped
    assert s["val/inpaint/f1"] == [(19.0, 0.4), (39.0, 0.6)]
    assert "epoch" not in s and "step" not in s
    assert read_metrics_csv(run_dir) == s  # a run folder finds its metrics.csv


def test_group_metrics_puts_stages_and_baselines_on_the_metric_panel(run_dir):
    panels = group_metrics(read_metrics_csv(run_dir))
    assert set(panels) == {"lr-AdamW", "loss", "inpaint/loss", "inpaint/f1", "count/mae", "refill/miou", "future/motion_epe"}
    assert set(panels["loss"]) == {"train (step)", "train (epoch)", "val"}
    assert set(panels["inpaint/f1"]) == {"val", "val baseline: prior"}
    assert set(panels["count/mae"]) == {"val", "val baseline: mean"}
    assert set(panels["refill/miou"]) == {"val", "val baseline: nearest", "val baseline: majority"}
    assert set(panels["future/motion_epe"]) == {"val", "val baseline: zero"}
    assert panels["count/mae"]["val baseline: mean"] == [(19.0, 1.4), (39.0, 1.4)]


def test_a_baseline_without_its_metric_keeps_its_own_panel():
    panels = group_metrics({"val/x/baseline_f1_prior": [(0.0, 1.0)]})
    assert panels == {"x/baseline_f1_prior": {"val": [(0.0, 1.0)]}}


def test_plot_one_panel_per_metric(run_dir):
    fig = plot_training_curves(run_dir)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 7 and len(fig.axes) == 9  # 3 x 3 grid, two blank
    titles = [ax.get_title() for ax in visible]
    assert titles[:2] == ["loss", "lr-AdamW"] and titles.index("inpaint/loss") < titles.index("inpaint/f1")
    ax = visible[titles.index("inpaint/f1")]
    styles = {l.get_label(): l.get_linestyle() for l in ax.lines}
    assert styles == {"val": "-", "val baseline: prior": "--"}
    assert str(run_dir / "csv" / "metrics.csv") in fig._suptitle.get_text()
    fig = plot_training_curves(read_metrics_csv(run_dir), keys=["refill", "count"], ncols=2)
    assert [ax.get_title() for ax in fig.axes] == ["count/mae", "refill/miou"]


def test_errors(tmp_path, run_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no metrics.csv below"):
        plot_training_curves(empty)
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_metrics_csv(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a Lightning metrics.csv"):
        read_metrics_csv(bad)
    with pytest.raises(ValueError, match="no metrics to plot matching"):
        plot_training_curves(run_dir, keys=["nothing"])


def test_newest_metrics_file_wins(tmp_path):
    for i, name in enumerate(("b", "a")):  # "a" written last: newest despite its name
        d = tmp_path / name
        d.mkdir()
        (d / "metrics.csv").write_text(CSV)
        os.utime(d / "metrics.csv", (time.time() + i, time.time() + i))
    assert find_metrics_csv(tmp_path) == tmp_path / "a" / "metrics.csv"


def _write_curve(path, values, baseline):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["train_minutes,wall_minutes,step,epoch,value,baseline"]
    for i, v in enumerate(values):
        lines.append(f"{i + 1},{i + 1.2},{100 * (i + 1)},0,{v},{baseline}")
    path.write_text("\n".join(lines) + "\n")


def test_learning_curves_of_runs_with_one_shared_baseline_line(tmp_path):
    from evpose.viz.curves import plot_learning_curve, read_learning_curve

    _write_curve(tmp_path / "a" / "learning_curve.csv", [20.0, 12.0, 10.0], 18.23)
    _write_curve(tmp_path / "b" / "learning_curve.csv", [19.0, 9.0, 7.0, 6.5], 18.23)
    cols = read_learning_curve(tmp_path / "a")
    assert cols["value"] == [20.0, 12.0, 10.0] and cols["step"] == [100.0, 200.0, 300.0]
    fig = plot_learning_curve({"default": tmp_path / "a", "long": tmp_path / "b" / "learning_curve.csv"})
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    # two runs and one baseline line (the second run's equal baseline is not drawn again)
    assert labels == ["default", "mean training pose (18.23)", "long"]
    assert list(ax.get_lines()[2].get_ydata()) == [19.0, 9.0, 7.0, 6.5]
    assert list(ax.get_lines()[1].get_ydata()) == [18.23, 18.23]
    # runs with different baselines get one line each, named by run
    _write_curve(tmp_path / "c" / "learning_curve.csv", [30.0, 20.0], 25.0)
    fig = plot_learning_curve({"a": tmp_path / "a", "c": tmp_path / "c"})
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == ["a", "mean training pose (18.23), a", "c", "mean training pose (25.00), c"]


def test_a_learning_curve_file_of_another_kind_is_refused(tmp_path):
    from evpose.viz.curves import read_learning_curve

    (tmp_path / "x.csv").write_text("step,loss\n1,2\n")
    with pytest.raises(ValueError, match="not a learning_curve.csv"):
        read_learning_curve(tmp_path / "x.csv")
