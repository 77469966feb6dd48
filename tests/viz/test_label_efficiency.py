"""The label-efficiency figure: one line per init on a log fraction axis, seed error bars,
the mean-pose baseline dashed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evpose.viz import plot_label_efficiency


def group(init, fraction, mean, std, n):
    return {"init": init, "fraction": fraction, "seeds": list(range(n)),
            "metrics": {"mpjpe2d_px": {"mean": mean, "std": std, "n": n}}}


RESULTS = {
    "groups": [group("scratch", 0.05, 25.0, None, 1), group("pretrained", 0.05, 21.0, None, 1),
               group("scratch", 0.1, 22.0, 2.0, 3), group("pretrained", 0.1, 17.0, 1.0, 3),
               group("scratch", 1.0, 16.0, None, 1), group("pretrained", 1.0, 15.0, None, 1)],
    "baseline": {"mpjpe2d_px": 18.25},
}


def test_lines_error_bars_baseline_and_log_axis(tmp_path):
    fig = plot_label_efficiency(RESULTS)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_ylim()[0] == 0
    assert [t.get_text() for t in ax.get_xticklabels()] == ["5%", "10%", "100%"]
    labels = [c.get_label() for c in ax.containers]
    assert labels == ["from scratch (seeds per point: 1/3)", "pretrained (seeds per point: 1/3)"]
    scratch, pretrained = ax.containers
    line, _, (bars,) = pretrained.lines
    np.testing.assert_allclose(np.asarray(line.get_xdata(), float), [0.05, 0.1, 1.0])
    np.testing.assert_allclose(np.asarray(line.get_ydata(), float), [21.0, 17.0, 15.0])
    # the error bar at 10% spans mean +- std (16..18); single-seed points get none (zero length)
    segs = [np.asarray(s) for s in bars.get_segments()]
    spans = [(s[0, 1], s[1, 1]) for s in segs]
    assert spans == [(21.0, 21.0), (16.0, 18.0), (15.0, 15.0)]
    dashed = [l for l in ax.get_lines() if l.get_linestyle() == "--"]
    assert len(dashed) == 1 and list(dashed[0].get_ydata()) == [18.25, 18.25]
    assert dashed[0].get_label() == "mean training pose (18.25)"
    fig.savefig(tmp_path / "le.png")
    assert (tmp_path / "le.png").stat().st_size > 0


def test_json_results_and_errors():
    fig = plot_label_efficiency(json.loads(json.dumps({**RESULTS, "baseline": {"mpjpe2d_px": float("nan")}})))
    assert not [l for l in fig.axes[0].get_lines() if l.get_linestyle() == "--"]  # no baseline measured: none drawn
    with pytest.raises(ValueError, match="no label-efficiency arms"):
        plot_label_efficiency({"groups": []})
