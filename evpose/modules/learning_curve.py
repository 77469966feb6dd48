"""A callback that records the learning curve of a run against wall-clock time."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import lightning as L

from ..viz.curves import plot_learning_curve

#: Columns of ``learning_curve.csv``.
COLUMNS = ("train_minutes", "wall_minutes", "step", "epoch", "value", "baseline")


class LearningCurve(L.Callback):
    """After every validation, append the validation metric and the wall-clock time to
    ``<folder>/learning_curve.csv`` and redraw ``<folder>/learning_curve.png`` (so an
    interrupted run keeps its curve).

    ``train_minutes`` counts the time since training started without the time spent in
    validation (what the training budget buys); ``wall_minutes`` includes it.

    Args:
        folder: where the two files go (the run folder).
        metric: the logged validation metric (default ``val/mpjpe2d``).
        baseline: a logged metric drawn as the reference line (default the mean-pose
            baseline of fine-tuning, ``val/baseline_mpjpe2d_mean_pose``); None: none.
        label: axis label of the metric.
    """

    def __init__(self, folder, metric: str = "val/mpjpe2d", baseline: str | None = "val/baseline_mpjpe2d_mean_pose",
                 label: str = "validation MPJPE 2D (px)"):
        super().__init__()
        self.folder = Path(folder)
        self.metric, self.baseline, self.label = metric, baseline, label
        self.rows: list[dict] = []
        self._t0: float | None = None
        self._val_s = 0.0
        self._val_t0: float | None = None

    @property
    def csv_path(self) -> Path:
        return self.folder / "learning_curve.csv"

    @property
    def png_path(self) -> Path:
        return self.folder / "learning_curve.png"

    def on_train_start(self, trainer, pl_module) -> None:
        self._t0 = time.perf_counter()

    def on_validation_start(self, trainer, pl_module) -> None:
        self._val_t0 = time.perf_counter()

    def on_validation_end(self, trainer, pl_module) -> None:
        now = time.perf_counter()
        if self._val_t0 is not None:
            self._val_s += now - self._val_t0
            self._val_t0 = None
        if self._t0 is None or trainer.sanity_checking or self.metric not in trainer.callback_metrics:
            return
        if trainer.global_rank != 0:
            return
        metrics = trainer.callback_metrics
        wall = (now - self._t0) / 60.0
        row = {
            "train_minutes": wall - self._val_s / 60.0,
            "wall_minutes": wall,
            "step": int(trainer.global_step),
            "epoch": int(trainer.current_epoch),
            "value": float(metrics[self.metric]),
            "baseline": float(metrics[self.baseline]) if self.baseline and self.baseline in metrics else float("nan"),
        }
        self.rows.append(row)
        self.write()

    def write(self) -> None:
        """Write the CSV and the figure of the rows so far."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.csv_path.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS)
            w.writeheader()
            w.writerows(self.rows)
        fig = plot_learning_curve({"this run": self.csv_path}, ylabel=self.label)
        fig.savefig(self.png_path, dpi=120)
