"""Model figures: parameters, inference latency per 7.5k-event window (graph building reported
separately), training throughput, for the default configuration (conf/finetune.yaml).

Windows come from the synthetic demo data (generated if missing). Medians of repeats.

    python bench/model.py [--windows 40] [--repeats 5] [--threads 2]
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
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from hydra.utils import instantiate

    from evpose.cli.compose import compose_config
    from evpose.data import EventWindowDataset, PoseGraphTransform
    from evpose.data.manifest import split_recordings
    from evpose.models.losses import joint_loss
    from evpose.modules import FinetuneModule
    from evpose.synth import ensure_demo_data

    root = ensure_demo_data(progress=None)
    cfg = compose_config("finetune", [f"data.root={root}", "paths.output_dir=/tmp/evpose_bench_model"])
    graph = instantiate(cfg.graph)
    transform = PoseGraphTransform(graph, cfg.model.num_parts)
    module = FinetuneModule(cfg.model.net, transform.input_spec, cfg.optimizer, loss_weights=cfg.loss_weights,
                            heatmap_sigma_px=cfg.heatmap_sigma_px, graph=cfg.graph)
    net = module.net
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
        w = module.hparams.loss_weights
        loss = sum(w[k] * v for k, v in module.losses(outs, b).items())
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


if __name__ == "__main__":
    main()
