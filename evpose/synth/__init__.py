"""Synthetic DHP19-like event recordings with per-event body-part labels.

A volumetric human (DHP19's 13 joints, 10 named parts made of tapered capsules) performs
parameterised movements in a textured room; each camera renders a part-label map and a
shaded, textured intensity image at adaptive instants, and an ESIM-style event model turns
log-intensity changes into events (contrast thresholds, refractory period, noise).

Quick use::

    from evpose.synth import generate_dataset, synthesize_recording, ensure_demo_data

    root = ensure_demo_data()                          # data/synth/demo, made if missing
    generate_dataset("/tmp/synth", preset="demo", seed=3, num_workers=2)
    rec = synthesize_recording(subject=1, movement="squats", duration_s=1.0)
    rec.events["cam2"]                                  # t, x, y, p, part, person

Command line: ``evpose-synth`` (demo preset into ``data/synth/demo``),
``evpose-synth preset=full``, ``evpose-synth seed=3 out_dir=/tmp/x num_workers=2``.
"""

from .background import Room, render_background, sample_room
from .body import PRIMITIVES, Capsules, Subject, make_subject, sample_subject
from .cameras import look_at_camera, resolve_cameras, standing_point
from .generate import dataset_state, ensure_demo_data, generate_dataset
from .motions import MOTION_TYPES
from .movements import BASIC_MOVEMENTS, MOVEMENTS, MotionParams, movement_angles
from .presets import PRESETS, SynthConfig, preset_config
from .recording import GENERATOR_VERSION, build_scene, subject_body, synthesize_recording, write_synthetic_recording
from .scene import Actor, Scene
from .simulate import EventModel, SyntheticRecording, simulate_camera, simulate_scene
from .skeleton import Pose, Skeleton, forward_kinematics

__all__ = [
    "Actor",
    "BASIC_MOVEMENTS",
    "Capsules",
    "EventModel",
    "GENERATOR_VERSION",
    "MOTION_TYPES",
    "MOVEMENTS",
    "MotionParams",
    "PRESETS",
    "PRIMITIVES",
    "Pose",
    "Room",
    "Scene",
    "Skeleton",
    "Subject",
    "SynthConfig",
    "SyntheticRecording",
    "build_scene",
    "dataset_state",
    "ensure_demo_data",
    "forward_kinematics",
    "generate_dataset",
    "look_at_camera",
    "make_subject",
    "movement_angles",
    "preset_config",
    "render_background",
    "resolve_cameras",
    "sample_room",
    "sample_subject",
    "simulate_camera",
    "simulate_scene",
    "standing_point",
    "subject_body",
    "synthesize_recording",
    "write_synthetic_recording",
]
