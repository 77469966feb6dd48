"""Generation parameters of a synthetic dataset and the ``demo`` / ``full`` presets.

:class:`SynthConfig` holds every parameter that changes the generated data (the seed is
passed beside it); the manifest stores :meth:`SynthConfig.to_dict` so a folder can be
checked against a request. Worker count and batch size change only the speed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..geometry import Camera
from ..io.manifest import SPLITS  # torch-free: generator worker processes never load torch
from .cameras import resolve_cameras
from .movements import BASIC_MOVEMENTS, EXTRA_MOVEMENTS, MOVEMENTS, movement_spec
from .simulate import EventModel


def _pair(name, v, positive=True) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (low, high) pair, got {v!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi or (positive and lo <= 0):
        raise ValueError(f"{name} must satisfy {'0 < ' if positive else ''}low <= high, got {v!r}")
    return lo, hi


@dataclass(frozen=True)
class SynthConfig:
    """Every parameter of a synthetic dataset (see the presets for typical values).

    Args:
        splits: split name (train/val/test) -> subject ids (1..99; each in one split).
        movements: movement names (:data:`evpose.synth.motions.MOVEMENTS`).
        duration_s: length of every recording, seconds.
        num_persons: people in the scene, 1 or 2. The second performs another movement
            of the list, 0.8 .. 1.1 m from the first where every camera sees both best
            (in DHP19's small capture volume one of them may leave a side view at times);
            its joints are stored under ``/persons``.
        cameras: ``"dhp19"`` (DHP19's four calibrated cameras) or a list of camera specs
            (:mod:`evpose.synth.cameras`).
        sensor_size: optional (height, width) every camera must have.
        height_range: subjects' standing heights, mm.
        girth_range: factor on the subjects' limb radii.
        speed_range: factor on each movement's cadence, per recording.
        amplitude_range: factor on each movement's excursions, per recording.
        position_jitter_mm: random offset of the standing point (uniform in a disc).
        yaw_jitter_deg: random turn away from facing the cameras (uniform +-).
        pose_rate_hz: 3D pose sampling rate (DHP19's Vicon: 100 Hz).
        threshold_mean, threshold_std, threshold_min, refractory_us, noise_rate_hz,
        noise_on_fraction, hot_pixel_fraction, hot_pixel_rate_hz, log_eps, max_step_px,
        max_step_us: the event model (:class:`evpose.synth.simulate.EventModel`).
    """

    splits: Mapping[str, tuple[int, ...]]
    movements: tuple[str, ...]
    duration_s: float
    num_persons: int = 1
    cameras: Any = "dhp19"
    sensor_size: tuple[int, int] | None = None
    height_range: tuple[float, float] = (1500.0, 1950.0)
    girth_range: tuple[float, float] = (0.85, 1.25)
    speed_range: tuple[float, float] = (0.8, 1.25)
    amplitude_range: tuple[float, float] = (0.8, 1.1)
    position_jitter_mm: float = 120.0
    yaw_jitter_deg: float = 20.0
    pose_rate_hz: float = 100.0
    threshold_mean: float = 0.2
    threshold_std: float = 0.03
    threshold_min: float = 0.05
    refractory_us: float = 100.0
    noise_rate_hz: float = 0.1
    noise_on_fraction: float = 0.5
    hot_pixel_fraction: float = 1e-4
    hot_pixel_rate_hz: tuple[float, float] = (5.0, 50.0)
    log_eps: float = 1e-3
    max_step_px: float = 1.0
    max_step_us: float = 10000.0

    def __post_init__(self):
        # normalise containers (Hydra hands over ListConfig / DictConfig) and check
        splits = {}
        if not isinstance(self.splits, Mapping) or not self.splits:
            raise ValueError(f"splits must map split names ({', '.join(SPLITS)}) to subject ids, got {self.splits!r}")
        seen: dict[int, str] = {}
        for name, ids in self.splits.items():
            if name not in SPLITS:
                raise ValueError(f"unknown split {name!r}; valid: {', '.join(SPLITS)}")
            ids = tuple(int(i) for i in (ids or ()))
            for i in ids:
                if not 1 <= i <= 99:
                    raise ValueError(f"subject id {i} in split {name!r} is outside 1..99")
                if i in seen:
                    raise ValueError(f"subject {i} is in splits {seen[i]!r} and {name!r}; a subject belongs to one split")
                seen[i] = name
            splits[name] = ids
        if not seen:
            raise ValueError("no subjects: every split is empty")
        object.__setattr__(self, "splits", splits)
        movements = tuple(str(m) for m in (self.movements or ()))
        if not movements:
            raise ValueError(f"no movements given; valid: {', '.join(MOVEMENTS)}")
        for m in movements:
            movement_spec(m)  # unknown names raise, listing the valid ones
        if len(set(movements)) != len(movements):
            raise ValueError(f"movements listed twice: {sorted({m for m in movements if movements.count(m) > 1})}")
        object.__setattr__(self, "movements", movements)
        d = float(self.duration_s)
        if not np.isfinite(d) or d <= 0:
            raise ValueError(f"duration_s must be positive, got {self.duration_s}")
        if int(self.num_persons) not in (1, 2):
            raise ValueError(f"num_persons must be 1 or 2, got {self.num_persons}")
        cams = self.cameras
        if cams is None:
            cams = "dhp19"
        if isinstance(cams, Mapping):
            cams = [{**dict(v), "name": k} if isinstance(v, Mapping) else v for k, v in cams.items()]
        if not isinstance(cams, str):
            # plain JSON-able specs (the manifest stores them): Camera objects as K/R/t dicts
            cams = [c.to_dict() if isinstance(c, Camera) else c for c in cams]
            cams = [
                {k: (v if isinstance(v, (str, int, float)) else np.asarray(v, dtype=np.float64).tolist()) for k, v in dict(c).items()}
                if isinstance(c, Mapping)
                else c
                for c in cams
            ]
        object.__setattr__(self, "cameras", cams)
        if self.sensor_size is not None:
            ss = tuple(int(v) for v in self.sensor_size)
            if len(ss) != 2 or min(ss) <= 0:
                raise ValueError(f"sensor_size must be (height, width) > 0, got {self.sensor_size}")
            object.__setattr__(self, "sensor_size", ss)
        resolve_cameras(self.cameras, self.sensor_size)  # raises on a bad camera option
        for name in ("height_range", "girth_range", "speed_range", "amplitude_range", "hot_pixel_rate_hz"):
            object.__setattr__(self, name, _pair(name, getattr(self, name), positive=name != "hot_pixel_rate_hz"))
        for name in ("position_jitter_mm", "yaw_jitter_deg"):
            if not float(getattr(self, name)) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not float(self.pose_rate_hz) > 0:
            raise ValueError(f"pose_rate_hz must be positive, got {self.pose_rate_hz}")
        self.event_model()  # checks the event model's values

    # ------------------------------------------------------------------ views
    @property
    def subjects(self) -> tuple[int, ...]:
        """All subject ids, sorted."""
        return tuple(sorted(i for ids in self.splits.values() for i in ids))

    def split_of(self, subject: int) -> str:
        for name, ids in self.splits.items():
            if subject in ids:
                return name
        raise KeyError(f"subject {subject} is in no split")

    def event_model(self, batch: int = 16) -> EventModel:
        em = EventModel(
            threshold_mean=float(self.threshold_mean),
            threshold_std=float(self.threshold_std),
            threshold_min=float(self.threshold_min),
            refractory_us=float(self.refractory_us),
            noise_rate_hz=float(self.noise_rate_hz),
            noise_on_fraction=float(self.noise_on_fraction),
            hot_pixel_fraction=float(self.hot_pixel_fraction),
            hot_pixel_rate_hz=tuple(self.hot_pixel_rate_hz),
            log_eps=float(self.log_eps),
            max_step_px=float(self.max_step_px),
            max_step_us=float(self.max_step_us),
            batch=batch,
        )
        if not 0 < em.threshold_min <= em.threshold_mean or em.threshold_std < 0 or em.refractory_us < 0:
            raise ValueError(
                f"bad threshold/refractory values: mean {em.threshold_mean}, std {em.threshold_std}, "
                f"min {em.threshold_min}, refractory {em.refractory_us} us"
            )
        if em.noise_rate_hz < 0 or not 0 <= em.noise_on_fraction <= 1 or not 0 <= em.hot_pixel_fraction <= 1:
            raise ValueError(
                f"bad noise values: rate {em.noise_rate_hz} Hz, on fraction {em.noise_on_fraction}, "
                f"hot pixel fraction {em.hot_pixel_fraction}"
            )
        return em

    def to_dict(self) -> dict:
        """Plain JSON-able values (lists, not tuples), stable for comparing manifests."""
        d = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "splits":
                v = {k: list(ids) for k, ids in v.items()}
            elif isinstance(v, tuple):
                v = list(v)
            d[f.name] = v
        return d

    def replace(self, **changes) -> "SynthConfig":
        """A copy with some parameters changed (unknown names raise, listing the valid ones)."""
        valid = [f.name for f in dataclasses.fields(self)]
        unknown = sorted(set(changes) - set(valid))
        if unknown:
            raise ValueError(f"unknown synthetic-data parameter(s) {unknown}; valid: {', '.join(valid)}")
        return dataclasses.replace(self, **changes)


#: The named presets. ``demo``: small and quick, every motion type, split by subject.
#: ``full``: DHP19-sized (17 subjects x 33 movements, DHP19's 12/5 subject split with two
#: of the twelve held out for validation).
PRESETS: dict[str, SynthConfig] = {
    "demo": SynthConfig(
        splits={"train": (1, 2, 3), "val": (4,), "test": (5,)},
        movements=BASIC_MOVEMENTS,
        duration_s=2.0,
        max_step_px=2.0,
    ),
    "full": SynthConfig(
        splits={"train": tuple(range(1, 11)), "val": (11, 12), "test": tuple(range(13, 18))},
        movements=tuple(MOVEMENTS),
        duration_s=10.0,
    ),
}


def preset_config(preset: str | SynthConfig = "demo", **overrides) -> SynthConfig:
    """A preset's configuration with some parameters replaced.

    Args:
        preset: ``"demo"``, ``"full"`` or a :class:`SynthConfig`.
        **overrides: parameters to change (None values are ignored: "keep the preset's").
    """
    if isinstance(preset, SynthConfig):
        base = preset
    else:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; valid: {', '.join(PRESETS)}")
        base = PRESETS[preset]
    valid = [f.name for f in dataclasses.fields(SynthConfig)]
    unknown = sorted(set(overrides) - set(valid))
    if unknown:
        raise ValueError(f"unknown synthetic-data parameter(s) {unknown}; valid: {', '.join(valid)}")
    changes = {k: v for k, v in overrides.items() if v is not None}
    return base.replace(**changes) if changes else base


__all__ = ["EXTRA_MOVEMENTS", "PRESETS", "SynthConfig", "preset_config"]
