"""The Lightning datamodule of event-graph windows (pretraining and fine-tuning)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable, Sequence

import lightning as L
import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from .dataset import EventWindowDataset
from .graph_cache import CachedGraphDataset, cache_key
from .label_fraction import label_subset
from .loader import RefusedBatch, SkippingCollater, make_loader
from .rng_state import rng_states, set_rng_states
from .sampler import EpochSampler
from .manifest import MANIFEST_NAME, DatasetError, load_manifest

log = logging.getLogger(__name__)


class EventDataModule(L.LightningDataModule):
    """Windows of a dataset folder as batches of event graphs.

    The transforms turn a window sample (a dict, see :class:`EventWindowDataset`) into a
    PyG ``Data``; a transform may return None for a window it cannot use (e.g. one that a
    pretext corruption leaves too small): such windows are dropped from the batch and
    counted (``batch.num_skipped``), never a crash.

    Args:
        root: dataset folder (``manifest.json`` + recordings).
        transform: sample -> Data for training (e.g. a pretext transform or the graph transform).
        eval_transform: the same for validation/test (default: ``transform``).
        cameras: camera names to use (default: all).
        eval_cameras: cameras of the validation/test windows (default: ``cameras``).
        window, num_events, duration_us, stride, count_cameras: windowing (see
            :class:`EventWindowDataset`; ``window="count_synced"`` with
            ``label_rule="dhp19"`` are DHP19's own frames and labels).
        min_events: windows with fewer events are left out of the index (counted).
        labels: attach pose labels (fine-tuning); pretraining leaves them out.
        label_rule: ``"mean"``, ``"end"`` or ``"dhp19"``.
        history_us: events before each window fed to the TORE node features.
        label_fraction: train on this share of the training recordings only, for
            label-efficiency studies (:func:`~evpose.data.label_fraction.label_subset`: at
            least one; drawn by ``seed``, so another seed trains on other recordings; for one
            seed the subsets of growing fractions are nested).
        max_train_windows, max_eval_windows: cap the windows per epoch (an evenly spaced,
            seeded subset; None = all), to keep CPU demos short.
        batch_size, num_workers: loader settings (workers are seeded by Lightning/torch).
        follow_batch: attributes to make ``*_batch`` vectors for (query points).
        seed: seed of the label-fraction choice and of the training loader's shuffling
            (the window caps are evenly spaced, not random).
        train_split, val_split, test_split: split names in the manifest.
        generate_preset: when ``root`` holds no dataset, generate this synthetic preset
            there first (``"demo"`` / ``"full"``, see :mod:`evpose.synth`); None (default,
            and in every shipped config): never, a folder without a dataset is an error
            that says how to make one.
        cache_workers: processes that fill the cache before training starts (default 0:
            the loader fills it during the first epoch).
        cache: keep the graphs of the windows on disk (:class:`CachedGraphDataset`), built
            once, read back in later epochs and runs: ``True`` puts them under
            ``<root>/.cache/graphs``, a path elsewhere; False (default) builds every graph
            every time. Only for deterministic transforms (fine-tuning, evaluation; not the
            random corruptions of pretraining).
        cache_in_memory: also keep the cached graphs read in memory (useful without data
            workers, when the page cache does not keep the files; about 340 KB per graph of
            1024 nodes).
        unlabelled_transform: when given (``evpose-finetune aux_pretext=[...]``), every training
            batch is ``{"pose": labelled batch, "pretext": batch of this transform}``: the second
            holds ``batch_size`` windows (fewer at the end of a pass over them) of the training
            recordings outside the labelled subset
            (:meth:`unlabelled_recordings`; with ``label_fraction=1`` every training recording),
            loaded without labels, never cached (the transform is random), capped like the
            training windows (``max_train_windows``). An epoch is one pass over the labelled
            windows; the unlabelled windows run on across epochs, reshuffled at every pass over
            them (:class:`UnlabelledStream`; a resumed run starts them afresh). Validation is
            unchanged (the labelled validation windows). None (default): plain training batches.
        unlabelled_follow_batch: ``follow_batch`` of the unlabelled batches (the transform's query sets).
    """

    def __init__(
        self,
        root: str | Path,
        transform: Callable,
        eval_transform: Callable | None = None,
        cameras: Sequence[str] | None = None,
        eval_cameras: Sequence[str] | None = None,
        window: str = "count",
        num_events: int = 7500,
        duration_us: int = 50_000,
        stride: int | None = None,
        count_cameras: Sequence[str] | None = None,
        min_events: int = 1000,
        labels: bool = True,
        label_rule: str = "mean",
        history_us: int = 50_000,
        label_fraction: float = 1.0,
        max_train_windows: int | None = None,
        max_eval_windows: int | None = None,
        batch_size: int = 8,
        num_workers: int = 0,
        follow_batch: Sequence[str] = (),
        seed: int = 0,
        train_split: str = "train",
        val_split: str = "val",
        test_split: str = "test",
        generate_preset: str | None = None,
        cache: bool | str | Path = False,
        cache_workers: int = 0,
        cache_in_memory: bool = False,
        unlabelled_transform: Callable | None = None,
        unlabelled_follow_batch: Sequence[str] = (),
    ):
        super().__init__()
        if not 0.0 < label_fraction <= 1.0:
            raise ValueError(f"label_fraction must be in (0, 1], got {label_fraction}")
        self.root = Path(root)
        self.transform = transform
        self.eval_transform = eval_transform if eval_transform is not None else transform
        self.cameras = None if cameras is None else list(cameras)
        self.eval_cameras = self.cameras if eval_cameras is None else list(eval_cameras)
        self.window_kwargs = dict(
            window=window, num_events=num_events, duration_us=duration_us, stride=stride, min_events=min_events,
            labels=labels, label_rule=label_rule, history_us=history_us,
            count_cameras=None if count_cameras is None else list(count_cameras),
        )
        self.label_fraction = label_fraction
        self.max_train_windows, self.max_eval_windows = max_train_windows, max_eval_windows
        self.batch_size, self.num_workers = batch_size, num_workers
        self.follow_batch = list(follow_batch)
        self.seed = seed
        self.splits = {"train": train_split, "val": val_split, "test": test_split}
        self.generate_preset = generate_preset
        if cache is True or (isinstance(cache, str) and cache.lower() == "true"):
            self.cache_dir: Path | None = self.root / ".cache" / "graphs"
        elif cache in (False, None) or (isinstance(cache, str) and cache.lower() in ("false", "none", "")):
            self.cache_dir = None
        else:
            self.cache_dir = Path(cache)
        self.cache_workers = int(cache_workers)
        self.cache_in_memory = bool(cache_in_memory)
        self.unlabelled_transform = unlabelled_transform
        self.unlabelled_follow_batch = list(unlabelled_follow_batch)
        self._datasets: dict[str, Dataset] = {}
        self._train_sampler: EpochSampler | None = None
        self._resume: dict | None = None

    def prepare_data(self) -> None:
        """Check that ``root`` holds a dataset (:class:`NoDatasetError` saying how to make one
        otherwise), or generate the synthetic one there when ``generate_preset`` asks for it."""
        if (self.root / MANIFEST_NAME).exists():
            load_manifest(self.root)
            return
        if self.generate_preset is None:
            load_manifest(self.root)  # raises NoDatasetError, naming the folder and how to make a dataset
        from ..synth import generate_dataset

        log.warning("no dataset at %s: generating the synthetic %r preset there (generate_preset=%s)",
                    self.root, self.generate_preset, self.generate_preset)
        generate_dataset(self.root, preset=self.generate_preset)

    # ------------------------------------------------------------------ datasets
    def recordings(self, split: str, labelled_only: bool = True) -> list[Path]:
        """The recording paths of a split (``train``, ``val`` or ``test``), after the label
        fraction (``labelled_only=False``: every training recording)."""
        manifest = load_manifest(self.root)
        name = self.splits[split]
        paths = [self.root / r["path"] for r in manifest["recordings"] if r["split"] == name]
        if not paths:
            have = sorted({r["split"] for r in manifest["recordings"]})
            raise DatasetError(f"{self.root}: split {name!r} has no recordings; splits present: {have}")
        if split == "train" and labelled_only and self.label_fraction < 1.0:
            chosen = label_subset(len(paths), self.label_fraction, self.seed)
            log.info("label_fraction=%.3g (seed %d): training on %d of the %d training recordings",
                     self.label_fraction, self.seed, len(chosen), len(paths))
            paths = [paths[i] for i in chosen]
        return paths

    def unlabelled_recordings(self) -> list[Path]:
        """The training recordings outside the labelled subset of ``label_fraction`` (those
        whose windows an ``unlabelled_transform`` gets); with ``label_fraction=1``, where
        none is left out, every training recording (the pretext tasks then see the labelled
        recordings' windows, without their labels)."""
        every = self.recordings("train", labelled_only=False)
        labelled = set(self.recordings("train"))
        rest = [p for p in every if p not in labelled]
        return rest or every

    def unlabelled_dataset(self) -> Dataset:
        """The windows of :meth:`unlabelled_recordings` through ``unlabelled_transform``, without labels."""
        if "unlabelled" not in self._datasets:
            ds = EventWindowDataset(self.unlabelled_recordings(), cameras=self.cameras,
                                    transform=self.unlabelled_transform, **{**self.window_kwargs, "labels": False})
            if ds.skipped:
                log.info("unlabelled: %d windows below min_events left out", ds.skipped)
            self._datasets["unlabelled"] = capped(ds, self.max_train_windows)
        return self._datasets["unlabelled"]

    def dataset(self, split: str) -> Dataset:
        """The (cached) dataset of a split, with its transform and window cap."""
        if split not in self._datasets:
            train = split == "train"
            ds = EventWindowDataset(
                self.recordings(split),
                cameras=self.cameras if train else self.eval_cameras,
                transform=self.transform if train else self.eval_transform,
                **self.window_kwargs,
            )
            if ds.skipped:
                log.info("%s: %d windows below min_events left out", split, ds.skipped)
            ds = capped(ds, self.max_train_windows if train else self.max_eval_windows)
            if self.cache_dir is not None:
                transform = self.transform if train else self.eval_transform
                cams = self.cameras if train else self.eval_cameras
                # count_cameras enters the key only when set: the keys of earlier caches stay valid
                settings = {k: v for k, v in self.window_kwargs.items() if not (k == "count_cameras" and v is None)}
                key = cache_key(transform, {**settings, "cameras": cams, "split": self.splits[split],
                                            "label_fraction": self.label_fraction if train else 1.0, "seed": self.seed})
                ds = CachedGraphDataset(ds, transform, self.cache_dir / key, in_memory=self.cache_in_memory)
                log.info("%s: graphs cached in %s", split, self.cache_dir / key)
            self._datasets[split] = ds
        return self._datasets[split]

    def setup(self, stage: str | None = None) -> None:
        if stage in (None, "fit"):
            for split in ("train", "val"):
                ds = self.dataset(split)
                if isinstance(ds, CachedGraphDataset) and self.cache_workers:
                    t0 = time.perf_counter()
                    built = ds.fill(self.cache_workers)
                    if built:
                        log.info("%s: built %d graphs into the cache in %.0f s (%d processes)", split, built,
                                 time.perf_counter() - t0, self.cache_workers)
        if stage in ("validate",):
            self.dataset("val")
        if stage in (None, "test"):
            self.dataset("test")

    # ------------------------------------------------------------------ resuming
    def state_dict(self) -> dict:
        """What an exact resume needs (saved in every checkpoint of a fit): the epoch and
        batch to continue at, and the random generators' states there.

        At an epoch's end the generators are taken as they are; in the middle of an epoch,
        as they were before the first batch not trained on (a loader may have fetched it
        already). Exact for every checkpoint on the CPU without data workers; with workers,
        for checkpoints at an epoch's end.
        """
        trainer = self.trainer
        if trainer is None or self._train_sampler is None:
            return {}
        done = int(trainer.fit_loop.epoch_loop.batch_progress.current.processed)
        total = trainer.num_training_batches
        epoch = int(trainer.current_epoch)
        if done >= total:  # the epoch is over: the next one starts from the generators as they are
            return {"epoch": epoch + 1, "skip_batches": 0, "rng": rng_states()}
        return {"epoch": epoch, "skip_batches": done, "rng": self._train_sampler.rng_before(epoch, done)}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`: the generators now, the loader's position when it is made."""
        if not state:
            return
        if state.get("rng") is not None:
            set_rng_states(state["rng"])
        self._resume = {"epoch": int(state["epoch"]), "skip_batches": int(state["skip_batches"])}

    # ------------------------------------------------------------------ loaders
    def _loader(self, split: str, shuffle: bool):
        # under DDP every process loads its share of each epoch (EpochSampler shards the
        # one-process order; Lightning leaves it alone, being a DistributedSampler)
        trainer = self.trainer
        world = int(trainer.world_size) if trainer is not None else 1
        unlabelled = split == "unlabelled"
        return make_loader(
            self.unlabelled_dataset() if unlabelled else self.dataset(split),
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            collate_fn=SkippingCollater(self.unlabelled_follow_batch if unlabelled else self.follow_batch),
            seed=self.seed,
            num_replicas=world,
            rank=int(trainer.global_rank) if world > 1 else 0,
        )

    def on_before_batch_transfer(self, batch, dataloader_idx: int):
        """A training batch of None (every window refused) goes on as a :class:`RefusedBatch`,
        so that the training step sees it (and, under DDP, every process skips that step)."""
        training = self.trainer is not None and self.trainer.training
        if training and (batch is None or (isinstance(batch, dict) and any(b is None for b in batch.values()))):
            return RefusedBatch()
        return batch

    def train_dataloader(self):
        loader = self._loader("train", shuffle=True)
        self._train_sampler = loader.sampler
        if self._resume is not None:
            loader.sampler.resume(self._resume["epoch"], self._resume["skip_batches"])
            self._resume = None
        if self.unlabelled_transform is None:
            return loader
        from lightning.pytorch.utilities import CombinedLoader

        # min_size: the epoch is the labelled loader's (the unlabelled stream has no length)
        return CombinedLoader({"pose": loader, "pretext": UnlabelledStream(self._loader("unlabelled", shuffle=True))},
                              mode="min_size")

    def val_dataloader(self):
        return self._loader("val", shuffle=False)

    def test_dataloader(self):
        return self._loader("test", shuffle=False)


def capped(ds: Dataset, cap: int | None) -> Dataset:
    """At most ``cap`` windows of ``ds``, evenly spaced (None: all of them)."""
    if cap is None or len(ds) <= cap:
        return ds
    return Subset(ds, np.linspace(0, len(ds) - 1, cap).round().astype(np.int64).tolist())


class UnlabelledStream:
    """The batches of a training loader without end: pass after pass over its windows, each
    pass in the order of its own epoch (:class:`EpochSampler`: seed and pass number), carried
    on across the training epochs (each ``iter`` continues where the last one stopped).

    It has no length (a :class:`~lightning.pytorch.utilities.CombinedLoader` in ``min_size``
    mode then takes the other loader's) and no ``sampler`` attribute (Lightning leaves its
    epochs alone).
    """

    def __init__(self, loader):
        self.loader = loader
        self.passes = 0
        self._it = None

    def __iter__(self):
        return self

    def __next__(self):
        for _ in range(2):  # a fresh pass when one ends (an empty loader: stop)
            if self._it is None:
                self.loader.sampler.set_epoch(self.passes)
                self._it = iter(self.loader)
            try:
                return next(self._it)
            except StopIteration:
                self._it = None
                self.passes += 1
        raise StopIteration
