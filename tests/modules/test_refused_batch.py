"""A training batch whose every window a corruption refused: the step changes no weight, is
counted, and under DDP every process skips it together (no process waits for another)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch
from tests.modules.conftest import FAST, run_ddp_on_cpu, run_here

STEPS = 4
COMMON = [o for o in FAST if not o.startswith(("trainer.max_epochs", "data.batch_size"))] + [
    "trainer.max_epochs=-1",
    f"trainer.max_steps={STEPS}",
    "data.batch_size=1",
    "num_threads=1",
    "pretext=[count]",
    "+callbacks.refuse._target_=tests.modules.ddp_probe.RefusedBatchProbe",
    "+callbacks.refuse.refuse=[1]",
]


def epoch_sum(run_dir: Path, key: str) -> float:
    with open(run_dir / "csv" / "metrics.csv") as f:
        return sum(float(r[key]) for r in csv.DictReader(f) if r.get(key))


def check_records(records: list[dict], refused_step: int) -> None:
    """The refused step changed no weight (AdamW's weight decay included), every other one
    did, and every step counted (as Lightning counts a skipped step in one process)."""
    assert [r["global_step"] for r in records] == list(range(1, STEPS + 1)), records
    assert [r["changed"] for r in records] == [s != refused_step for s in range(STEPS)], records


def test_refused_batch_changes_no_weight_and_is_counted(tmp_path, tiny_dataset):
    out = tmp_path / "one"
    run_here("pretrain", [f"data.root={tiny_dataset}", f"paths.output_dir={out}", *COMMON,
                          f"+callbacks.refuse.out={out / 'probe'}", "+callbacks.refuse.rank=0"])
    records = torch.load(out / "probe.rank0.pt", weights_only=False)
    assert [r["none"] for r in records] == [s == 1 for s in range(STEPS)]
    check_records(records, refused_step=1)
    assert epoch_sum(out, "train/skipped_steps") == 1.0


@pytest.mark.ddp
def test_ddp_process_with_refused_batch_does_not_stall_the_others(tmp_path, tiny_dataset):
    """Rank 1's second batch is None; rank 0's is not. Both skip that step (the one flag
    all-reduce per step), make the same logging and gradient collectives on every other step,
    and finish (a timeout here is the hang this guards against)."""
    ddp = tmp_path / "ddp"
    run_ddp_on_cpu("pretrain", [f"data.root={tiny_dataset}", *COMMON, f"+callbacks.refuse.out={ddp / 'probe'}",
                                "+callbacks.refuse.rank=1", "data.num_workers=0"], ddp, cwd=tmp_path)
    ranks = [torch.load(ddp / f"probe.rank{r}.pt", weights_only=False) for r in (0, 1)]
    assert [r["none"] for r in ranks[0]] == [False] * STEPS
    assert [r["none"] for r in ranks[1]] == [s == 1 for s in range(STEPS)]
    for records in ranks:
        check_records(records, refused_step=1)
    assert epoch_sum(ddp, "train/skipped_steps") == 1.0


@pytest.mark.ddp
def test_ddp_process_whose_validation_batches_are_all_refused_finishes(tmp_path, tiny_dataset):
    """Every validation batch of rank 1 is None; rank 0's are not. Rank 1 still logs every
    validation loss key (with weight zero) and computes every metric, so both processes make
    the same epoch-end collectives and the run finishes with the validation figures of rank 0's
    windows logged. (Before: rank 1 lacked the monitored ``val/loss`` and stopped, or waited
    in a metric's sync that rank 0 never made; a float64/float32 mismatch of the gathered
    baseline targets broke the gather.)"""
    ddp = tmp_path / "ddp"
    overrides = [o for o in COMMON if "refuse" not in o] + [
        "+callbacks.refuse_val._target_=tests.modules.ddp_probe.RefusedValidationProbe",
        "+callbacks.refuse_val.rank=1", "data.num_workers=0"]
    run_ddp_on_cpu("pretrain", [f"data.root={tiny_dataset}", *overrides], ddp, cwd=tmp_path, timeout=240)
    with open(ddp / "csv" / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("val/loss")]
    assert len(rows) == 1, rows
    for key in ("val/loss", "val/count/loss", "val/count/mae", "val/count/baseline_mae_mean"):
        assert math.isfinite(float(rows[0][key])) and float(rows[0][key]) > 0, (key, rows[0])
