"""evpose-eval end to end: window settings left null come from the checkpoint's data config,
and from the defaults (count, 7500, mean) where the checkpoint has none."""

from __future__ import annotations

import pytest
import torch
from hydra import compose, initialize_config_dir

from evpose.cli import _hydra
from evpose.cli.eval import run as evaluate
from evpose.evaluation import describe_windows


def with_data_config(src, dst, **changes):
    """A copy of checkpoint ``src`` whose training data config has ``changes`` (None: key removed)."""
    ckpt = torch.load(src, map_location="cpu", weights_only=False)
    data = ckpt["hyper_parameters"]["config"]["data"]
    for k, v in changes.items():
        if v is None:
            data.pop(k, None)
        else:
            data[k] = v
    torch.save(ckpt, dst)
    return dst


def eval_cfg(ckpt, out, *overrides):
    with initialize_config_dir(config_dir=_hydra.CONFIG_PATH, version_base="1.3"):
        return compose("eval", overrides=[f"ckpt_path={ckpt}", f"paths.output_dir={out}", "max_windows=4",
                                          "baseline_windows=8", "plots=false", "batch_size=4", *overrides])


@pytest.mark.parametrize(
    "stored,overrides,expected",
    [
        # the checkpoint's windows: DHP19's synchronised frames, its count, its label rule
        (dict(window="count_synced", num_events=1500, label_rule="dhp19", count_cameras=None), [],
         ("count_synced", 1500, "dhp19", None)),
        # settings missing from the checkpoint (older runs): the defaults
        (dict(window=None, num_events=None, label_rule=None, count_cameras=None), [], ("count", 7500, "mean", None)),
        # given on the command line: they win over the checkpoint's
        (dict(window="count_synced", num_events=1500, label_rule="dhp19"), ["window=count", "num_events=2000", "label_rule=end"],
         ("count", 2000, "end", None)),
    ],
)
def test_eval_takes_missing_window_settings_from_the_checkpoint(finetuned_ckpt, tmp_path, stored, overrides, expected):
    ckpt = with_data_config(finetuned_ckpt, tmp_path / "model.ckpt", **stored)
    report = evaluate(eval_cfg(ckpt, tmp_path / "eval", *overrides))
    assert report["context"]["windows"] == describe_windows(*expected)
    assert describe_windows(*expected) in (tmp_path / "eval" / "eval.md").read_text()
