"""Helpers shared by tests: tiny synthetic events and poses (independent of evpose.synth)."""

from __future__ import annotations

import numpy as np

from evpose.types import NUM_JOINTS, make_events


def random_events(rng, n, t0=0, t1=1_000_000, width=346, height=260, labels=True):
    """n random time-sorted events (with ties) on a width x height sensor."""
    t = np.sort(rng.integers(t0, t1, n))
    x = rng.integers(0, width, n)
    y = rng.integers(0, height, n)
    p = rng.integers(0, 2, n)
    if labels:
        return make_events(t, x, y, p, part=rng.integers(-1, 10, n), person=rng.integers(-1, 2, n))
    return make_events(t, x, y, p)


def standing_pose(K: int = NUM_JOINTS) -> np.ndarray:
    """A plausible standing pose at the DHP19 origin (mm, Z up), DHP19 joint order."""
    return np.array(
        [
            [0, 0, 1650],  # head
            [-180, 0, 1450], [180, 0, 1450],  # shoulders R, L
            [-220, 0, 1150], [220, 0, 1150],  # elbows
            [-100, 0, 950], [100, 0, 950],  # hips
            [-240, 0, 880], [240, 0, 880],  # hands
            [-100, 0, 500], [100, 0, 500],  # knees
            [-100, 0, 60], [100, 0, 60],  # feet
        ],
        dtype=np.float64,
    )[:K]


def blob_window(n, seed, centre=(170, 130), sensor=(260, 346), with_parts=True, duration_us=30_000):
    """Events of a moving elongated blob (pixels repeat, so graphs are connected), with
    random part labels; time-sorted, starting at t = 0."""
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, duration_us, n))
    s = t / duration_us
    x = np.clip(centre[0] + 30 * s + rng.normal(0, 6, n), 0, sensor[1] - 1)
    y = np.clip(centre[1] + rng.normal(0, 25, n), 0, sensor[0] - 1)
    part = rng.integers(-1, 10, n) if with_parts else None
    return make_events(t, x.astype(int), y.astype(int), rng.integers(0, 2, n), part=part)


def pose_net(backbone, num_joints=13, num_parts=10, joints3d=True, offset_scale_px=10.0, confidence_radius_px=8.0,
             **options3d):
    """The pose tasks' network on ``backbone``: a :class:`~evpose.tasks.TaskNet` of the 2D
    joints, 3D joints (``options3d``: :class:`~evpose.tasks.Joints3DTask`'s) and parts tasks
    (heads built in that order: the weights the pose network of evpose before format 4 had)."""
    from evpose.tasks import Joints2DTask, Joints3DTask, PartsTask, TaskNet

    tasks = {"joints2d": Joints2DTask(num_joints=num_joints, offset_scale_px=offset_scale_px,
                                      confidence_radius_px=confidence_radius_px)}
    if joints3d:
        tasks["joints3d"] = Joints3DTask(num_joints=num_joints, **options3d)
    if num_parts:
        tasks["parts"] = PartsTask(num_parts=num_parts)
    return TaskNet(backbone, tasks)


def stage_outputs(net, batch) -> list[dict]:
    """Every backbone stage's outputs of a pose :class:`~evpose.tasks.TaskNet`, the tasks' in one dict per stage."""
    outs = net(batch)
    return [{k: v for o in outs.values() for k, v in o["stages"][s].items()}
            for s in range(len(outs["joints2d"]["stages"]))]


def finetune_module(cfg, **kwargs):
    """The :class:`~evpose.modules.TaskModule` of a composed ``finetune`` config, as
    evpose-finetune builds it (its pose tasks; ``kwargs`` override its other arguments)."""
    from evpose.cli.finetune import selected_pose_tasks
    from evpose.data import NodeInputSpec
    from evpose.modules import TaskModule

    args = dict(backbone=cfg.model.backbone, input_spec=NodeInputSpec(cfg.graph.tore_k, cfg.model.num_parts),
                tasks=selected_pose_tasks(cfg), optimizer=cfg.optimizer, stage_weights=cfg.get("stage_weights"),
                freeze_backbone=cfg.freeze_backbone, freeze_backbone_steps=cfg.freeze_backbone_steps,
                backbone_lr_factor=cfg.backbone_lr_factor)
    return TaskModule(**{**args, **kwargs})
