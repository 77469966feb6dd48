"""Events of a scene: adaptive render instants, rendering, the event model and noise.

Per camera: pick render instants so that no body point moves more than ``max_step_px``
pixels between two of them (and at most ``max_step_us`` apart), render them in batches
inside the bodies' bounding box, turn the log intensities into events
(:class:`~evpose.synth.esim.EventSimulator`), add noise, sort by time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..geometry import Camera
from ..types import event_dtype
from .background import Room, render_background
from .clothing import TEXTURE_TERMS, Appearance
from .esim import EventSimulator
from .noise import background_activity, hot_pixels
from .projection import boxes_region, capsule_boxes, project_capsules
from .render import CapsuleRenderer, label_code, split_label
from .texture import TextureAtlas
from .scene import Scene

#: Time grid (us) on which body motion is measured to place the render instants.
MOTION_GRID_US = 1000


@dataclass(frozen=True)
class EventModel:
    """Parameters of the sensor and of the simulation's time resolution.

    Args:
        threshold_mean: mean contrast threshold C (default 0.2).
        threshold_std: per-pixel standard deviation of C (default 0.03).
        threshold_min: lower clip of C (default 0.05).
        refractory_us: refractory period (default 100 us).
        noise_rate_hz: background activity per pixel (default 0.1 Hz, a DAVIS346 in indoor light).
        noise_on_fraction: share of ON noise events (default 0.5).
        hot_pixel_fraction: share of hot pixels (default 1e-4).
        hot_pixel_rate_hz: (low, high) rate range of hot pixels (default 5 .. 50 Hz).
        log_eps: ``L = ln(I + log_eps)`` (default 1e-3).
        max_step_px: largest image motion of any body point between render instants
            (default 1.0 px).
        max_step_us: largest time between render instants (default 10000 us).
        batch: render instants per batch (speed and memory only; the events do not
            depend on it) (default 16).
    """

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
    batch: int = 16

    def __post_init__(self):
        if not self.max_step_px > 0:
            raise ValueError(f"max_step_px must be positive, got {self.max_step_px}")
        if not self.max_step_us > 0:
            raise ValueError(f"max_step_us must be positive, got {self.max_step_us}")
        if not self.log_eps > 0:
            raise ValueError(f"log_eps must be positive, got {self.log_eps}")
        if int(self.batch) < 1:
            raise ValueError(f"batch must be >= 1, got {self.batch}")

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "batch"}
        d["hot_pixel_rate_hz"] = [float(v) for v in self.hot_pixel_rate_hz]
        return d


@dataclass
class CameraEvents:
    """Events of one camera and how they were made.

    Args:
        events: structured (N,) array with t, x, y, p, part, person, sorted by time.
        num_instants: render instants used.
        num_noise: events labelled -1 (noise).
    """

    events: np.ndarray
    num_instants: int
    num_noise: int


@dataclass
class SyntheticRecording:
    """A simulated recording held in memory.

    Args:
        cameras: name -> Camera.
        events: name -> structured events (t, x, y, p, part, person), time-sorted.
        pose_t: (T,) int64 pose sample times, microseconds.
        joints3d: (P, T, K, 3) float world mm, one trajectory per person (person id order).
        duration_us: length of the recording.
        info: JSON-able description (actors, room, light, instants per camera).
    """

    cameras: dict
    events: dict
    pose_t: np.ndarray
    joints3d: np.ndarray
    duration_us: int
    info: dict = field(default_factory=dict)

    @property
    def num_events(self) -> dict[str, int]:
        return {k: int(len(v)) for k, v in self.events.items()}


def render_instants(scene: Scene, camera: Camera, duration_us: float, max_step_px: float, max_step_us: float) -> np.ndarray:
    """Render times (float us, from 0 to ``duration_us``) of one camera.

    The image motion of every capsule end (plus its change of projected radius) is
    measured on a 1 ms grid; instants are placed every ``max_step_px`` of the largest
    cumulative motion and at most ``max_step_us`` apart.
    """
    n_grid = int(np.ceil(duration_us / MOTION_GRID_US))
    tg = np.linspace(0.0, duration_us, n_grid + 1)
    proj = project_capsules(camera, scene.capsules(tg * 1e-6))
    ends = np.concatenate([proj.a, proj.b], axis=1)  # (G, 2M, 2)
    rad = np.concatenate([proj.ra, proj.rb], axis=1)
    vis = np.concatenate([proj.visible, proj.visible], axis=1)
    step = np.linalg.norm(np.diff(ends, axis=0), axis=-1) + np.abs(np.diff(rad, axis=0))
    step = np.where(vis[1:] & vis[:-1], step, 0.0)
    disp = step.max(axis=1) if step.size else np.zeros(n_grid)
    cum = np.concatenate([[0.0], np.cumsum(disp)])
    n_motion = int(np.floor(cum[-1] / max_step_px))
    parts = [np.array([0.0, float(duration_us)]), np.arange(0.0, duration_us, max_step_us)]
    if n_motion > 0:
        targets = np.arange(1, n_motion + 1) * max_step_px
        # cum is non-decreasing; invert it piecewise linearly (flat stretches need no instant)
        k = np.searchsorted(cum, targets, side="left")
        k = np.clip(k, 1, len(cum) - 1)
        c0, c1 = cum[k - 1], cum[k]
        frac = np.where(c1 > c0, (targets - c0) / np.where(c1 > c0, c1 - c0, 1.0), 1.0)
        parts.append(tg[k - 1] + frac * (tg[k] - tg[k - 1]))
    t = np.unique(np.round(np.concatenate(parts), 3))
    return t[(t >= 0) & (t <= duration_us)]


#: Small per-process caches: a room's image in a camera, and a scene's texture atlas, are
#: the same for every recording of a subject (the room) and every camera (the atlas).
_BACKGROUNDS: dict[bytes, np.ndarray] = {}
_ATLASES: dict[bytes, TextureAtlas] = {}
_CACHE_SIZE = 16


def _cached(cache: dict, key: bytes, make):
    if key not in cache:
        if len(cache) >= _CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[key] = make()
    return cache[key]


def _background(camera: Camera, room: Room) -> np.ndarray:
    key = repr(sorted(room.to_dict().items())).encode() + room.panels.tobytes() + room.waves.tobytes()
    key += camera.K.tobytes() + camera.R.tobytes() + camera.t.tobytes() + bytes(f"{camera.width}x{camera.height}", "ascii")
    return _cached(_BACKGROUNDS, key, lambda: render_background(camera, room))


def _renderer(scene: Scene, camera: Camera) -> CapsuleRenderer:
    apps, radii = [], []
    caps0 = scene.capsules(np.zeros(1))
    for actor in scene.actors:
        apps.append(actor.subject.appearance)
        radii.append(actor.subject.radii)
    app = Appearance(
        albedo0=np.concatenate([a.albedo0 for a in apps]),
        albedo1=np.concatenate([a.albedo1 for a in apps]),
        split_u=np.concatenate([a.split_u for a in apps]),
        texture=np.concatenate([a.texture for a in apps]).reshape(-1, TEXTURE_TERMS, 4),
    )
    radii = np.concatenate(radii)
    lengths = np.linalg.norm(caps0.b[0] - caps0.a[0], axis=-1)
    codes = label_code(caps0.person, caps0.part)
    parts = (app.albedo0, app.albedo1, app.split_u, app.texture, lengths, radii)
    key = b"".join(np.asarray(v, dtype=np.float64).tobytes() for v in parts)
    atlas = _cached(_ATLASES, key, lambda: TextureAtlas(app, lengths, radii))
    bg = _background(camera, scene.room)
    return CapsuleRenderer(camera, bg, app, lengths, radii, codes, scene.light, scene.ambient, atlas=atlas)


def simulate_camera(
    scene: Scene,
    camera: Camera,
    duration_us: float,
    rng: np.random.Generator,
    model: EventModel = EventModel(),
) -> CameraEvents:
    """Simulate one camera's event stream.

    Args:
        scene: actors, room and light.
        camera: the camera (need not be in ``scene.cameras``).
        duration_us: recording length; events lie in ``[0, duration_us)``.
        rng: random generator (threshold map and noise).
        model: sensor and time-resolution parameters.

    Shapes:
        -> events (N,) with fields t, x, y, p, part, person
    """
    H, W = camera.height, camera.width
    thr_rng, noise_rng = rng.spawn(2)
    times = render_instants(scene, camera, duration_us, model.max_step_px, model.max_step_us)
    renderer = _renderer(scene, camera)
    sim = EventSimulator(
        H, W, thr_rng, model.threshold_mean, model.threshold_std, model.threshold_min, model.refractory_us
    )

    caps = scene.capsules(times * 1e-6)
    proj = project_capsules(camera, caps)
    boxes = capsule_boxes(proj, W, H)

    def take(sl):
        return proj._replace(**{f: getattr(proj, f)[sl] for f in ("a", "b", "za", "zb", "ra", "rb", "visible")})

    # first instant: reference levels
    eps = float(model.log_eps)
    first = renderer.render(take(slice(0, 1)), boxes[:1], boxes_region(boxes[:1]), log_eps=eps)
    L_cur = renderer._log_background(eps).copy()
    lab_cur = np.full((H, W), -1, dtype=np.int16)
    ys, xs = first.region.slices
    L_cur[ys, xs] = first.intensity[0]
    lab_cur[ys, xs] = first.label[0]
    sim.reset(L_cur)
    prev = first.region
    B = int(model.batch)
    for s0 in range(1, len(times), B):
        s1 = min(s0 + B, len(times))
        region = boxes_region(boxes[s0:s1]).union(prev)
        if region.empty:
            continue
        ys, xs = region.slices
        L = np.empty((s1 - s0 + 1,) + region.shape, dtype=np.float32)
        lab = np.empty(L.shape, dtype=np.int16)
        renderer.render(take(slice(s0, s1)), boxes[s0:s1], region, log_eps=eps, out=(L[1:], lab[1:]))
        L[0] = L_cur[ys, xs]
        lab[0] = lab_cur[ys, xs]
        sim.process(region, L, lab, times[s0 - 1 : s1])
        L_cur[ys, xs] = L[-1]
        lab_cur[ys, xs] = lab[-1]
        prev = boxes_region(boxes[s1 - 1])

    t, pix, p, code = sim.events.arrays()
    part, person = split_label(code)
    nt, npix, np_ = background_activity(noise_rng, H, W, duration_us, model.noise_rate_hz, model.noise_on_fraction)
    ht, hpix, hp = hot_pixels(noise_rng, H, W, duration_us, model.hot_pixel_fraction, model.hot_pixel_rate_hz)
    n_noise = len(nt) + len(ht)
    t = np.concatenate([t, nt, ht])
    pix = np.concatenate([pix, npix, hpix])
    p = np.concatenate([p, np_, hp])
    part = np.concatenate([part, np.full(n_noise, -1)])
    person = np.concatenate([person, np.full(n_noise, -1)])
    ti = np.floor(t).astype(np.int64)
    ok = ti < int(duration_us)
    order = np.argsort(ti[ok], kind="stable")
    ev = np.empty(int(ok.sum()), dtype=event_dtype(part=True, person=True))
    ev["t"] = ti[ok][order]
    y, x = np.divmod(pix[ok][order], W)
    ev["x"], ev["y"] = x, y
    ev["p"] = p[ok][order]
    ev["part"] = part[ok][order]
    ev["person"] = person[ok][order]
    return CameraEvents(ev, num_instants=int(len(times)), num_noise=int((ev["part"] < 0).sum()))


def simulate_scene(
    scene: Scene,
    duration_s: float,
    rng: np.random.Generator,
    model: EventModel = EventModel(),
    pose_rate_hz: float = 100.0,
) -> SyntheticRecording:
    """Simulate every camera of a scene and sample the actors' 3D joints.

    Args:
        scene: actors, cameras, room and light.
        duration_s: recording length in seconds (> 0).
        rng: random generator; each camera gets its own child stream (in camera order).
        model: sensor and time-resolution parameters.
        pose_rate_hz: pose sampling rate (default 100, DHP19's Vicon).
    """
    if not np.isfinite(duration_s) or duration_s <= 0:
        raise ValueError(f"duration_s must be positive, got {duration_s}")
    if not pose_rate_hz > 0:
        raise ValueError(f"pose_rate_hz must be positive, got {pose_rate_hz}")
    duration_us = int(round(duration_s * 1e6))
    step_us = 1e6 / pose_rate_hz
    pose_t = np.round(np.arange(0.0, duration_us + 0.5, step_us)).astype(np.int64)
    actors = sorted(scene.actors, key=lambda a: a.person)
    joints = np.stack([a.joints(pose_t * 1e-6) for a in actors])
    streams = rng.spawn(len(scene.cameras))
    events, instants, noise = {}, {}, {}
    for (name, cam), r in zip(scene.cameras.items(), streams):
        ce = simulate_camera(scene, cam, duration_us, r, model)
        events[name] = ce.events
        instants[name] = ce.num_instants
        noise[name] = ce.num_noise
    info = {
        "actors": [a.describe() for a in actors],
        "room": scene.room.to_dict(),
        "light": [float(v) for v in scene.light],
        "ambient": float(scene.ambient),
        "render_instants": instants,
        "num_noise": noise,
    }
    return SyntheticRecording(dict(scene.cameras), events, pose_t, joints, duration_us, info)
