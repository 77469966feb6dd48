"""A synthetic scene: people performing movements in a room, seen by cameras."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..geometry import Camera
from .background import Room
from .body import Capsules, Subject
from .movements import MotionParams, movement_angles, movement_spec
from .skeleton import Pose, forward_kinematics


@dataclass(frozen=True)
class Actor:
    """One person: a subject performing a movement at a place.

    Args:
        subject: the body.
        movement: movement name (see :data:`evpose.synth.motions.MOVEMENTS`).
        motion: speed, amplitude and phase of this performance.
        position: (x, y) standing point on the floor, world mm.
        yaw: facing direction, radians from the world X axis.
        person: person id written into the events' ``person`` label (default 0).
    """

    subject: Subject
    movement: str
    motion: MotionParams = field(default_factory=MotionParams)
    position: tuple[float, float] = (0.0, 0.0)
    yaw: float = 0.0
    person: int = 0

    def __post_init__(self):
        movement_spec(self.movement)  # raises on an unknown name, listing the valid ones
        if not 0 <= int(self.person) < 127:
            raise ValueError(f"person id must be in [0, 127), got {self.person}")

    def pose(self, t_s) -> Pose:
        """Body configuration at times ``t_s`` (seconds). Shapes: (T,) -> Pose of T samples."""
        t_s = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        angles = movement_angles(self.movement, t_s, self.motion, self.subject.skeleton)
        angles = {k: np.broadcast_to(v, t_s.shape) for k, v in angles.items()}
        return forward_kinematics(self.subject.skeleton, angles, self.position, self.yaw)

    def joints(self, t_s) -> np.ndarray:
        """DHP19's 13 joints, world mm. Shapes: t_s (T,) -> (T, 13, 3)."""
        return self.pose(t_s).joints

    def capsules(self, t_s) -> Capsules:
        """Volumetric parts at times ``t_s``. Shapes: (T,) -> Capsules with (T, M, 3) ends."""
        return self.subject.capsules(self.pose(t_s), person=self.person)

    def describe(self) -> dict:
        """JSON-able description (for file attributes and the manifest)."""
        return {
            "person": int(self.person),
            "movement": self.movement,
            "motion": self.motion.to_dict(),
            "position_mm": [float(v) for v in self.position],
            "yaw_deg": float(np.degrees(self.yaw)),
            "subject": self.subject.params,
            "height_mm": float(self.subject.height),
        }


@dataclass(frozen=True)
class Scene:
    """Everything the simulator needs besides its own parameters.

    Args:
        actors: the people (distinct person ids).
        cameras: name -> camera.
        room: the static background room.
        light: (3,) unit world direction towards the light.
        ambient: share of light reaching every surface, in [0, 1].
    """

    actors: tuple[Actor, ...]
    cameras: dict[str, Camera]
    room: Room
    light: tuple[float, float, float] = (0.3, -0.5, 0.81)
    ambient: float = 0.45

    def __post_init__(self):
        if not self.cameras:
            raise ValueError("the scene has no cameras")
        if not self.actors:
            raise ValueError("the scene has no actors")
        ids = [a.person for a in self.actors]
        if len(set(ids)) != len(ids):
            raise ValueError(f"actors must have distinct person ids, got {ids}")
        if not 0 <= self.ambient <= 1:
            raise ValueError(f"ambient must be in [0, 1], got {self.ambient}")

    def capsules(self, t_s) -> Capsules:
        """All actors' capsules side by side. Shapes: (T,) -> (T, M_total, 3) ends."""
        return Capsules.concatenate([a.capsules(t_s) for a in self.actors])
