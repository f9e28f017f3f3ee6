"""Time the leaderboard over many synthetic run summaries.

Writes ``--n`` pipeline summaries (``--methods`` methods x seeds, realistic
content: cost, provenance, a 100-epoch loss curve, six metrics) into a
temporary folder, then times reading them (:func:`build_leaderboard`) and
writing every output (:func:`write_leaderboard`: CSVs, Markdown, HTML,
PNG plots).

Usage: ``python -m benchmarks.leaderboard_bench --n 10000``
"""
import argparse
import os.path as osp
import sys
import tempfile
import time

import numpy as np

from backbones.engine.fileio import atomic_write_json
from benchmarks.leaderboard import (PIPELINE_SUMMARY, build_leaderboard,
                                    write_leaderboard)


def synthetic_summary(method: str, seed: int, rng) -> dict:
    metrics = {'finetune': {'accuracy/top1': 83 + rng.normal()},
               'linear': {'accuracy/top1': 68 + rng.normal()},
               'knn': {'knn/top1': 60 + rng.normal()},
               'det': {'coco/bbox_mAP': 0.5 + rng.normal() / 100,
                       'coco/segm_mAP': 0.45 + rng.normal() / 100},
               'seg': {'mIoU': 48 + rng.normal()}}
    stages = {k: {'metrics': v} for k, v in metrics.items()}
    stages['pretrain'] = {
        'cost': {'device': 'cuda', 'device_name': 'A100', 'num_devices': 8,
                 'device_hours': 100 * (1 + rng.random()),
                 'images_per_s': 3000.0, 'peak_memory_mb': 30000.0,
                 'epochs': 800},
        'loss_curve': [[e, 1 / e] for e in range(1, 101)],
        'provenance': {'config': f'{method}.py', 'config_sha256': 'f' * 64,
                       'git_commit': '0' * 40, 'git_dirty': False,
                       'versions': {'torch': '2.14.1'},
                       'written_at': '2026-11-22T00:00:00'}}
    return dict(method=method, backbone='vit-base-p16', schedule='800e',
                seed=seed, smoke=False, stages=stages)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--n', type=int, default=10000)
    parser.add_argument('--methods', type=int, default=5)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as root:
        for i in range(args.n):
            atomic_write_json(
                osp.join(root, 'runs', f'{i:05d}', PIPELINE_SUMMARY),
                synthetic_summary(f'method{i % args.methods}',
                                  i // args.methods, rng))
        start = time.perf_counter()
        runs = build_leaderboard([osp.join(root, 'runs')])
        read = time.perf_counter() - start
        write_leaderboard(runs, osp.join(root, 'out'))
        total = time.perf_counter() - start
    print(f'{args.n} summaries: read {read:.2f} s, read + write all '
          f'outputs {total:.2f} s ({len(runs)} runs)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
