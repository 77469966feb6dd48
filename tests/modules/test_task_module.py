"""TaskModule: one module for any ordered list of tasks (pose, pretext, or both), its loss
terms, log names, checks and parameter groups."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate

from evpose.cli.compose import compose_config
from evpose.cli.finetune import selected_pose_tasks
from evpose.data.loader import SkippingCollater
from evpose.modules import TaskModule
from evpose.pretext import PretextTransform
from tests.tasks.test_contract import labelled_sample

OVERRIDES = ["paths.output_dir=/tmp/evpose_test_task_module", "model.backbone.hourglass.channels=[8,8,8]",
             "graph.max_nodes=400"]


def module_of(tasks, **kwargs) -> tuple[TaskModule, object]:
    cfg = compose_config("finetune", OVERRIDES)
    graph = instantiate(cfg.graph)
    tf_spec = PretextTransform(graph, [instantiate(cfg.pose_tasks.joints2d)], num_parts=cfg.model.num_parts).input_spec
    torch.manual_seed(0)
    module = TaskModule(cfg.model.backbone, tf_spec, tasks(cfg), cfg.optimizer, **kwargs)
    return module, graph


def pose_and_inpaint(cfg):
    return {**selected_pose_tasks(cfg), "inpaint": {"_target_": "evpose.pretext.InpaintTask", "weight": 0.5}}


def test_pose_and_pretext_tasks_train_together():
    """A list mixing the pose tasks and a pretext task: one data transform runs every
    encoder, one forward every head (in order), one loss of every term."""
    module, graph = module_of(pose_and_inpaint, backbone_lr_factor=1.0)
    assert module.checkpoint_kind == "finetune" and module.logs_skipped
    tf = PretextTransform(graph, module.tasks, seed=0)
    batch = SkippingCollater(tf.query_keys)([tf(labelled_sample(s)) for s in (1, 2)])
    outs = module.train()(batch)
    assert list(outs) == ["joints2d", "joints3d", "parts", "inpaint"]
    losses = module.losses(outs, batch)
    assert list(losses) == ["loss_joints2d", "loss_heatmap", "loss_rel_depth", "loss_root_depth", "loss_parts",
                            "inpaint/loss"]
    assert [w for w, _ in losses.values()] == [1.0, 10.0, 1.0, 5.0, 1.0, 0.5]
    # the keys a step logs, known without a batch (what a DDP process with no batch logs)
    assert module.loss_log_names("val") == module.loss_log_names("train") == [*losses, "loss"]
    total = sum(w * v for w, v in losses.values())
    total.backward()
    assert torch.isfinite(total)
    assert all(p.grad is not None for p in module.net.heads["inpaint"].parameters())
    module.eval()
    with torch.no_grad():
        outs = module(batch)
    for name, head in module.net.heads.items():
        head.update_metrics(module.val_metrics[name], outs[name], batch)
    names = dict(module.named_val_metrics())
    assert {"mpjpe2d", "pck5", "pck10", "baseline_mpjpe2d_mean_pose", "mpjpe3d", "miou", "inpaint/f1"} <= set(names)
    assert names["mpjpe2d"].update_count == 1 and names["inpaint/f1"].update_count == 1


def test_the_task_list_is_checked():
    def swapped(cfg):
        tasks = selected_pose_tasks(cfg)
        return {"joints3d": tasks["joints3d"], "joints2d": tasks["joints2d"]}

    with pytest.raises(ValueError, match="task 'joints3d' reads the outputs of task 'joints2d', which comes after it"):
        module_of(swapped)

    def twice(cfg):
        tasks = selected_pose_tasks(cfg)
        return {"joints2d": tasks["joints2d"], "more2d": tasks["joints2d"]}

    with pytest.raises(ValueError, match="task 'more2d' would log 'loss_joints2d', as task 'joints2d' does"):
        module_of(twice)
    with pytest.raises(ValueError, match="1 stages but 2 stage weights"):
        module_of(selected_pose_tasks, stage_weights=[0.5, 1.0])
    with pytest.raises(ValueError, match="needs at least one task"):
        module_of(lambda cfg: {})


def test_parameter_groups():
    """backbone_lr_factor: the heads' group, then the backbone's at that share of the rate
    (fine-tuning's); None: one group of every parameter, in the module's order (pretraining's)."""
    module, _ = module_of(selected_pose_tasks, backbone_lr_factor=0.1)
    heads, backbone = module.parameter_groups()
    assert heads["name"] == "heads" and backbone["name"] == "backbone"
    assert backbone["lr"] == pytest.approx(0.1 * module.configure_optimizers().defaults["lr"]) and "lr" not in heads
    assert len(heads["params"]) + len(backbone["params"]) == len(list(module.parameters()))
    assert {id(p) for p in backbone["params"]} == {id(p) for p in module.net.backbone.parameters()}
    module, _ = module_of(selected_pose_tasks)
    assert [id(p) for p in module.parameter_groups()] == [id(p) for p in module.parameters()]
    frozen, _ = module_of(selected_pose_tasks, freeze_backbone=True, backbone_lr_factor=1.0)
    assert [g["name"] for g in frozen.parameter_groups()] == ["heads"]


def test_a_head_must_return_every_loss_term_it_weights(monkeypatch):
    """Every step logs every term of ``loss_weights`` (DDP processes must log the same keys):
    a head returning fewer terms is refused by name, not logged short."""
    module, graph = module_of(selected_pose_tasks)
    tf = PretextTransform(graph, module.tasks, seed=0)
    batch = SkippingCollater(tf.query_keys)([tf(labelled_sample(s)) for s in (1, 2)])
    outs = module.train()(batch)
    head = module.net.heads["joints3d"]
    full = head.losses
    monkeypatch.setattr(head, "losses", lambda out, b: {"loss_rel_depth": full(out, b)["loss_rel_depth"]})
    with pytest.raises(ValueError, match=r"task 'joints3d'.*\['loss_rel_depth'\].*loss_root_depth"):
        module.losses(outs, batch)
    # with the pretext batch, validation runs the pose tasks only
    module2, _ = module_of(pose_and_inpaint, pretext_batch=True)
    assert "inpaint/loss" not in module2.loss_log_names("val")
    assert "inpaint/loss" in module2.loss_log_names("train")
