"""trainer=ddp for real: evpose-finetune in two CPU processes (gloo), step for step against one process."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from tests.modules.conftest import FAST, run_ddp_on_cpu, run_here

STEPS = 4  # 8 training windows, 2 per global batch: one epoch, then validation on 4 windows
COMMON = [o for o in FAST if not o.startswith(("trainer.max_epochs", "data.batch_size"))] + [
    "pretrained=none",
    "trainer.max_epochs=-1",
    f"trainer.max_steps={STEPS}",
    "data.cache_workers=0",
    "num_threads=1",  # the same reductions in both runs (and no oversubscribed cores)
    # plain SGD: AdamW's first steps move every weight by about lr whatever the size of its
    # gradient, so the round-off of a gradient that is zero in exact arithmetic (e.g. the bias
    # of the heatmap logits, under a per-graph softmax) becomes a weight difference of ~lr
    "optimizer._target_=torch.optim.SGD",
    "+callbacks.probe._target_=tests.modules.ddp_probe.StepProbe",
]


def metrics(run_dir: Path) -> list[dict]:
    with open(run_dir / "csv" / "metrics.csv") as f:
        return list(csv.DictReader(f))


def last_value(rows: list[dict], key: str) -> float:
    return [float(r[key]) for r in rows if r.get(key)][-1]


def last_weights(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["state_dict"]


def probe(run_dir: Path, rank: int) -> list[dict]:
    return torch.load(run_dir / f"probe.rank{rank}.pt", weights_only=False)


def rel_diff(a: dict, b: dict) -> float:
    """||a - b|| / ||a|| over all tensors of two gradient dicts (same keys)."""
    assert a.keys() == b.keys()
    x = torch.cat([a[k].flatten() for k in sorted(a)])
    y = torch.cat([b[k].flatten() for k in sorted(a)])
    return float((x - y).norm() / x.norm())


@pytest.mark.ddp
def test_ddp_two_cpu_processes_equal_one_process(tmp_path, tiny_dataset):
    """evpose-finetune trainer=ddp on two CPU processes (gloo) with batch 1 each trains on the
    same windows as one process with batch 2, with the same losses and gradients up to
    round-off (measured: 3e-7 and 2e-6 relative; bound 1e-5) and the same weights after 4 SGD
    steps (measured 1.5e-8); it validates with the same mean-pose baseline (the training
    windows of every process) and writes a checkpoint that loads.

    Here every window has 400 nodes (graph.max_nodes), so the per-process means of the losses
    equal the means over the global batch; with uneven node or visible-joint counts DDP equals
    one process accumulating the processes' batches instead (README)."""
    one, ddp = tmp_path / "one", tmp_path / "ddp"
    run_here("finetune", [f"data.root={tiny_dataset}", f"paths.output_dir={one}", *COMMON,
                          f"+callbacks.probe.out={one / 'probe'}", "data.batch_size=2"])
    run_ddp_on_cpu("finetune", [f"data.root={tiny_dataset}", *COMMON, f"+callbacks.probe.out={ddp / 'probe'}",
                                "data.batch_size=1"], ddp, cwd=tmp_path)

    ref, ranks = probe(one, 0), [probe(ddp, 0), probe(ddp, 1)]
    assert len(ref) == len(ranks[0]) == len(ranks[1]) == STEPS
    for step, (r, a, b) in enumerate(zip(ref, *ranks)):
        # the global batch holds the windows of one process's batch: rank r has its window r
        assert torch.equal(torch.cat([a["joints2d"], b["joints2d"]]), r["joints2d"]), step
        # DDP averages the processes' gradients: the loss of the global batch is their mean
        assert (a["loss"] + b["loss"]) / 2 == pytest.approx(r["loss"], rel=1e-5), step
        assert rel_diff(r["grad"], a["grad"]) < 1e-5, step
        assert rel_diff(a["grad"], b["grad"]) == 0.0, step  # every process steps with the same gradient

    rows_one, rows_ddp = metrics(one), metrics(ddp)
    assert len({int(r["step"]) for r in rows_ddp if r.get("train/loss_step")}) == STEPS, rows_ddp
    for key in ("val/loss", "val/mpjpe2d"):
        assert last_value(rows_ddp, key) == pytest.approx(last_value(rows_one, key), rel=1e-5), key
    # the mean-pose baseline: the 8 training windows of both processes, not rank 0's 4
    key = "val/baseline_mpjpe2d_mean_pose"
    assert last_value(rows_ddp, key) == pytest.approx(last_value(rows_one, key), rel=1e-6)

    w_one, w_ddp = last_weights(one), last_weights(ddp)
    assert w_one.keys() == w_ddp.keys()
    assert not any("log_bandwidth" in k for k in w_ddp)  # max-only convs: no parameter without gradient
    for k, v in w_ddp.items():
        torch.testing.assert_close(v, w_one[k], rtol=1e-5, atol=1e-6, msg=k)
