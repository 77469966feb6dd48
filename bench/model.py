"""Model figures: parameters, inference latency per 7.5k-event window (graph building reported
separately), the real-time factor of ``PoseEstimator.predict``, training throughput, for the
default configuration (conf/finetune.yaml).

Windows come from the synthetic demo data (generated if missing). Medians of repeats.

Real-time factor (issue 18): the median span of a window's events over the median time of
``predict()`` on it (graph building included, batch of one), with its distribution over the
windows (each window's span over its own median time). Wall-clock time depends on what else
runs on the machine; the CPU time of this thread (``time.thread_time``, exact with one torch
thread) is printed beside it as the load-independent figure (``predict()`` runs a window on one
torch thread: ``PoseEstimator``'s ``one_thread_below_nodes``). On a VM whose cores differ, pin the
process (``taskset -c 0``) or report the median of several runs.

    python bench/model.py [--windows 40] [--repeats 5] [--threads 2] [--checkpoint last.ckpt] [--only-predict]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
from torch_geometric.data import Batch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=40, help="test windows timed one by one")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--train-steps", type=int, default=12)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--checkpoint", default=None, help="time predict() of this fine-tuned checkpoint (default: "
                    "the untrained default network)")
    ap.add_argument("--only-predict", action="store_true", help="skip graph/network split and training")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.checkpoint or args.only_predict:
        realtime(args)
        if args.only_predict:
            return

    from hydra.utils import instantiate

    from evpose.cli.compose import compose_config
    from evpose.data import EventWindowDataset, PoseGraphTransform
    from evpose.data.manifest import split_recordings
    from evpose.cli.finetune import selected_pose_tasks
    from evpose.modules import TaskModule
    from evpose.synth import ensure_demo_data

    root = ensure_demo_data(progress=None)
    cfg = compose_config("finetune", [f"data.root={root}", "paths.output_dir=/tmp/evpose_bench_model"])
    graph = instantiate(cfg.graph)
    transform = PoseGraphTransform(graph, cfg.model.num_parts)
    module = TaskModule(cfg.model.backbone, transform.input_spec, selected_pose_tasks(cfg), cfg.optimizer,
                        graph=cfg.graph, backbone_lr_factor=cfg.backbone_lr_factor)
    net = module.net  # the backbone and the pose heads
    ds = EventWindowDataset(split_recordings(root, "test"), num_events=7500, history_us=cfg.data.history_us)
    idx = torch.linspace(0, len(ds) - 1, args.windows).round().long().tolist()
    samples = [ds.raw_sample(i) for i in idx]

    # graph building (window -> Data, TORE features and radius graph included)
    build_ms = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        datas = [transform(s) for s in samples]
        build_ms.append((time.perf_counter() - t0) / len(samples) * 1e3)
    # inference, one window at a time (the latency a live system sees)
    net.eval()
    infer_ms = []
    with torch.no_grad():
        net(Batch.from_data_list(datas[:1]))  # warm-up
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            for d in datas:
                net(Batch.from_data_list([d]))
            infer_ms.append((time.perf_counter() - t0) / len(datas) * 1e3)
    # training throughput at the configured batch size (forward, backward, step)
    net.train()
    bs = cfg.data.batch_size
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    batches = [Batch.from_data_list(datas[i : i + bs]) for i in range(0, len(datas) - bs + 1, bs)]
    step_s = []
    for s in range(args.train_steps):
        b = batches[s % len(batches)]
        t0 = time.perf_counter()
        outs = net(b)
        loss = sum(w * v for w, v in module.losses(outs, b).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        step_s.append(time.perf_counter() - t0)
    step = statistics.median(step_s[2:])
    params = sum(p.numel() for p in net.parameters())
    nodes = statistics.median(d.num_nodes for d in datas)
    edges = statistics.median(d.edge_index.shape[1] for d in datas)
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print(f"model: default config ({cfg.model.backbone.num_stages} stages, channels "
          f"{list(cfg.model.backbone.hourglass.channels)}, {cfg.model.backbone.hourglass.conv._target_.rsplit('.', 1)[1]})")
    print(f"windows: {len(datas)} test windows of 7500 events -> median {nodes:.0f} nodes, {edges:.0f} edges")
    print()
    print("| figure | value |")
    print("| --- | --- |")
    print(f"| parameters | {params:,} |")
    print(f"| graph building per window (TORE + subsample + radius graph) | {statistics.median(build_ms):.1f} ms |")
    print(f"| inference per window (batch of 1, after graph building) | {statistics.median(infer_ms):.1f} ms |")
    print(f"| total per window | {statistics.median(build_ms) + statistics.median(infer_ms):.1f} ms |")
    print(f"| training step, batch {bs} (forward + backward + AdamW) | {step * 1e3:.0f} ms |")
    print(f"| training throughput | {bs / step:.1f} windows/s |")


def realtime(args) -> None:
    """Median time of predict() per window, real-time factor and its distribution."""
    import numpy as np

    from evpose.data import EventWindowDataset
    from evpose.data.manifest import split_recordings
    from evpose.estimator import PoseEstimator, load_estimator
    from evpose.synth import ensure_demo_data

    root = ensure_demo_data(progress=None)
    if args.checkpoint:
        est = load_estimator(args.checkpoint)
    else:
        from hydra.utils import instantiate

        from evpose.cli.compose import compose_config
        from omegaconf import OmegaConf

        from evpose.cli.finetune import selected_pose_tasks
        from evpose.data import PoseGraphTransform
        from evpose.estimator import pose_net

        cfg = compose_config("finetune", [f"data.root={root}", "paths.output_dir=/tmp/evpose_bench_model"])
        graph = instantiate(cfg.graph)
        spec = PoseGraphTransform(graph, cfg.model.num_parts).input_spec
        net = pose_net(OmegaConf.to_container(cfg.model.backbone, resolve=True), spec,
                       OmegaConf.to_container(selected_pose_tasks(cfg)))
        est = PoseEstimator(net, graph, input_spec=spec)
    num_events = est.window.get("num_events", 7500)
    ds = EventWindowDataset(split_recordings(root, "test"), num_events=num_events)
    idx = torch.linspace(0, len(ds) - 1, args.windows).round().long().tolist()
    wins = [ds.raw_sample(i) for i in idx]
    spans = np.array([(int(w["events"]["t"][-1]) - int(w["events"]["t"][0])) / 1e3 for w in wins])  # ms
    for w in wins[:3]:
        est.predict(w["events"], w["camera"])  # warm-up (and the compiled kernels' first load)
    wall = np.zeros((args.repeats, len(wins)))
    cpu = np.zeros((args.repeats, len(wins)))
    for r in range(args.repeats):
        for i, w in enumerate(wins):
            c0, t0 = time.thread_time(), time.perf_counter()
            est.predict(w["events"], w["camera"])
            wall[r, i] = (time.perf_counter() - t0) * 1e3
            cpu[r, i] = (time.thread_time() - c0) * 1e3
    span = float(np.median(spans))
    print(f"predict() on {len(wins)} demo test windows of {num_events} events, batch of one, "
          f"{torch.get_num_threads()} torch threads; median span of a window's events {span:.1f} ms "
          f"(10-90%: {np.percentile(spans, 10):.1f}-{np.percentile(spans, 90):.1f} ms)")
    print()
    print("| clock | median ms per window | real-time factor | RTF over windows: p10 / p50 / p90 | windows in real time |")
    print("| --- | --- | --- | --- | --- |")
    for clock, ms in (("wall", wall), ("thread CPU", cpu)):
        per_window = np.median(ms, axis=0)  # each window's median over the repeats
        rtf = spans / per_window
        print(f"| {clock} | {np.median(ms):.1f} | {span / np.median(ms):.2f} | "
              f"{np.percentile(rtf, 10):.2f} / {np.percentile(rtf, 50):.2f} / {np.percentile(rtf, 90):.2f} | "
              f"{np.mean(rtf >= 1):.0%} |")
    print()


if __name__ == "__main__":
    main()
