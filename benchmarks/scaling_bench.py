"""Scale-out benchmark: data-parallel pretraining and parallel stages.

Two measurements, each taken side by side in one invocation on the same
machine and data:

1. ``ddp``: the smoke MAE pretraining on 1 process and on N processes
   (``--launcher pytorch``; gloo on a machine without CUDA) at the same
   global batch (32 = N x 32/N), ``--epochs`` epochs each. Reported:
   training images/s (both ranks counted, from ``run_summary.json``), the
   speed-up over 1 process and the scaling efficiency (speed-up / N).
2. ``stages``: the five transfer stages of the MAE smoke chain from one
   pretrained checkpoint, run by ``mimb-pipeline`` sequentially and with
   ``--parallel P``. Reported: wall time of each and their ratio.

The tables go to ``--out`` (``scaling_ddp.{csv,md}``,
``scaling_stages.{csv,md}``).

Usage: ``mimb-scaling-bench [--procs 2] [--epochs 3] [--parallel 4]``.
"""
import argparse
import os
import os.path as osp
import sys
import time
from types import SimpleNamespace

import pandas as pd

from benchmarks.errors import cli_main
from benchmarks.leaderboard import write_tables
from benchmarks.stages import (TINY_DATA, PipelineError, free_port,
                               last_checkpoint, read_summary, run_logged,
                               stage_command)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SMOKE_MAE = osp.join(REPO, 'configs', 'mae',
                     'mae_vit-tiny-p4_1xb32-coslr-30e_tiny-in1k-32px.py')
GLOBAL_BATCH = 32


def pretrain(work: str, procs: int, epochs: int) -> dict:
    """One smoke MAE pretraining on ``procs`` processes; its cost."""
    opts = SimpleNamespace(launcher='pytorch' if procs > 1 else 'none',
                           gpus=procs, seed=0, partition=None,
                           tensorboard=False)
    cmd = stage_command('pretrain', SMOKE_MAE, work, None, opts,
                        free_port() if procs > 1 else None)
    cmd += [f'train_cfg.max_epochs={epochs}',
            f'train_dataloader.batch_size={GLOBAL_BATCH // procs}',
            f'default_hooks.checkpoint.interval={epochs}']
    print(f'[scaling] pretraining on {procs} process(es)', flush=True)
    run_logged(cmd, osp.join(work, 'stage.log'), f'ddp-{procs}')
    return read_summary(work)['cost']


def bench_ddp(root: str, procs: int, epochs: int) -> pd.DataFrame:
    rows = []
    for n in (1, procs):
        cost = pretrain(osp.join(root, f'ddp_{n}'), n, epochs)
        rows.append(dict(processes=n, batch_per_process=GLOBAL_BATCH // n,
                         epochs=cost['epochs'], images=cost['images'],
                         train_time_s=round(cost['train_time_s'], 2),
                         images_per_s=round(cost['images_per_s'], 1)))
    table = pd.DataFrame(rows)
    speedup = table.images_per_s / table.images_per_s.iloc[0]
    table['speedup'] = speedup.round(3)
    table['efficiency'] = (speedup / table.processes).round(3)
    return table


def bench_stages(root: str, parallel: int, checkpoint: str) -> pd.DataFrame:
    rows = []
    for n in (1, parallel):
        cmd = [sys.executable, '-m', 'benchmarks.pipeline', SMOKE_MAE,
               '--checkpoint', checkpoint, '--stages', 'finetune', 'linear',
               'knn', 'det', 'seg', '--parallel', str(n), '--force',
               '--work-dir', osp.join(root, f'stages_{n}'),
               '--runs-root', osp.join(root, 'runs'),
               '--results', osp.join(root, 'results')]
        print(f'[scaling] transfer stages, --parallel {n}', flush=True)
        start = time.perf_counter()
        run_logged(cmd, osp.join(root, f'stages_{n}.log'), f'stages-{n}')
        rows.append(dict(parallel=n,
                         wall_time_s=round(time.perf_counter() - start, 1)))
    table = pd.DataFrame(rows)
    table['vs_sequential'] = (table.wall_time_s /
                              table.wall_time_s.iloc[0]).round(3)
    return table


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='mimb-scaling-bench', description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--procs', type=int, default=2,
                        help='processes of the data-parallel run')
    parser.add_argument('--epochs', type=int, default=3,
                        help='pretraining epochs of each data-parallel run')
    parser.add_argument('--parallel', type=int, default=4,
                        help='--parallel of the concurrent stage run')
    parser.add_argument('--work-dir', default='work_dirs/scaling_bench')
    parser.add_argument('--out', default='results/benchmarks')
    args = parser.parse_args(argv)
    if args.procs < 2 or GLOBAL_BATCH % args.procs:
        parser.error(f'--procs must be >= 2 and divide {GLOBAL_BATCH}, got '
                     f'{args.procs}')
    if args.epochs < 1 or args.parallel < 2:
        parser.error('--epochs must be >= 1 and --parallel >= 2')
    return args


@cli_main('mimb-scaling-bench', PipelineError)
def main(argv=None) -> int:
    args = parse_args(argv)
    if not osp.isdir(osp.join(TINY_DATA, 'imagenet')):
        from benchmarks.tiny_data import generate
        generate(TINY_DATA)
    root = osp.abspath(args.work_dir)
    os.makedirs(root, exist_ok=True)
    ddp = bench_ddp(root, args.procs, args.epochs)
    stages = bench_stages(root, args.parallel,
                          last_checkpoint(osp.join(root, 'ddp_1')))
    for name, table in (('scaling_ddp', ddp), ('scaling_stages', stages)):
        markdown = table.to_markdown(index=False) + '\n'
        print(markdown, end='')
        write_tables(table, args.out, name, markdown)
    return 0


if __name__ == '__main__':
    sys.exit(main())
