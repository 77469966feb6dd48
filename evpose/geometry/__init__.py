"""Cameras, projection, triangulation and RootNet's root-depth factor (pure functions)."""

from .camera import DHP19_CAMERA_NAMES, Camera, dhp19_cameras, dhp19_raw_projection
from .projection import (
    back_project,
    camera_to_world,
    compose_projection,
    decompose_projection,
    project_points,
    world_to_camera,
)
from .root_depth import A_REAL_MM2, box_area, k_factor
from .triangulation import triangulate_dlt

__all__ = [
    "A_REAL_MM2",
    "Camera",
    "DHP19_CAMERA_NAMES",
    "back_project",
    "box_area",
    "camera_to_world",
    "compose_projection",
    "decompose_projection",
    "dhp19_cameras",
    "dhp19_raw_projection",
    "k_factor",
    "project_points",
    "triangulate_dlt",
    "world_to_camera",
]
