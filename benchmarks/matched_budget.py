"""Compare pretraining methods at a matched budget, then probe them.

EMAE's claim is about cost: equal or better representations for less
pretraining. For each pretraining config (default: the MAE and EMAE smoke
configs, which differ only in the method) this pretrains

* ``epochs``: for the same number of epochs (``--epochs``), and
* ``time``: for the same wall-clock budget (``--budget-seconds``): each
  method gets as many epochs as its measured epoch time (from the
  ``epochs`` run) fits into the budget, with its warm-up + cosine schedule
  compressed to end there, and ``TimeBudgetHook`` capping the run at 1.25x
  the budget,

on the same data and seed, then evaluates every checkpoint with the kNN and
linear-probe protocols of its config, and prints one table (written to
``--out`` as CSV and Markdown): method, budget, epochs and seconds actually
trained, images seen, kNN and linear top-1.

Usage: ``mimb-matched-budget [--budget-seconds 60] [--epochs 30]``.
"""
import argparse
import os.path as osp
import sys
from types import SimpleNamespace

import pandas as pd

from benchmarks.errors import cli_main, read_config
from benchmarks.leaderboard import write_tables
from benchmarks.stages import (PipelineError, last_checkpoint,
                               parse_config_name, read_summary,
                               relative_config, run_logged, stage_command)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIGS = [
    osp.join(REPO, 'configs', 'mae',
             'mae_vit-tiny-p4_1xb32-coslr-30e_tiny-in1k-32px.py'),
    osp.join(REPO, 'configs', 'emae',
             'emae_vit-tiny-p4_1xb32-coslr-30e_tiny-in1k-32px.py'),
]


def schedule_options(epochs: int, warmup: int) -> list:
    """cfg-options that set a warm-up + cosine schedule of ``epochs``."""
    w = max(1, min(warmup, epochs - 1))
    return [f'train_cfg.max_epochs={epochs}', f'param_scheduler.0.end={w}',
            f'param_scheduler.1.begin={w}',
            f'param_scheduler.1.T_max={epochs - w}',
            f'param_scheduler.1.end={epochs}',
            f'default_hooks.checkpoint.interval={epochs}']


def run_case(config: str, mode: str, epochs: int, args, root: str,
             extra=()) -> dict:
    """Pretrain ``config`` for ``epochs``, then kNN and linear probe."""
    cfg = read_config(config)
    name = parse_config_name(config)['method']
    work = osp.join(root, f'{name}_{mode}')
    opts = SimpleNamespace(launcher='none', seed=args.seed, gpus=1,
                           partition=None, tensorboard=False)
    warmup = cfg.param_scheduler[0].get('end', 1)
    pre_dir = osp.join(work, 'pretrain')
    cmd = stage_command('pretrain', config, pre_dir, None, opts)
    cmd += schedule_options(epochs, warmup) + list(extra)
    print(f'[matched] {name} / {mode}: pretraining {epochs} epochs',
          flush=True)
    run_logged(cmd, osp.join(work, 'pretrain.log'), f'{name}-{mode}')
    checkpoint = last_checkpoint(pre_dir)
    cost = (read_summary(pre_dir) or {}).get('cost', {})
    row = dict(method=name, budget=mode, epochs=cost.get('epochs'),
               pretrain_s=cost.get('train_time_s'),
               images=cost.get('images'))
    for stage, key in (('knn', 'knn/top1'), ('linear', 'accuracy/top1')):
        stage_cfg = relative_config(config, cfg.mimb_downstream[stage])
        stage_dir = osp.join(work, stage)
        cmd = stage_command(stage, stage_cfg, stage_dir, checkpoint, opts)
        run_logged(cmd, osp.join(work, f'{stage}.log'), f'{name}-{stage}')
        row[f'{stage}_top1'] = (read_summary(stage_dir) or {}).get(
            'metrics', {}).get(key)
    return row


@cli_main('mimb-matched-budget', PipelineError)
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog='mimb-matched-budget', description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('configs', nargs='*', default=DEFAULT_CONFIGS,
                        help='pretraining configs to compare')
    parser.add_argument('--budget-seconds', type=float, default=60.0)
    parser.add_argument('--epochs', type=int, default=30)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--work-dir', default='work_dirs/matched_budget')
    parser.add_argument('--out', default='results/benchmarks')
    parser.add_argument('--name', default='matched_budget')
    args = parser.parse_args(argv)
    if args.budget_seconds <= 0 or args.epochs < 2:
        parser.error('--budget-seconds must be > 0 and --epochs >= 2')
    root = osp.abspath(args.work_dir)
    rows = []
    for config in args.configs:
        rows.append(run_case(osp.abspath(config), 'epochs', args.epochs,
                             args, root))
    for config, done in zip(args.configs, list(rows)):
        per_epoch = done['pretrain_s'] / done['epochs']
        epochs = max(2, int(args.budget_seconds // per_epoch))
        cap = [f'mimb_time_budget_s={1.25 * args.budget_seconds}']
        rows.append(run_case(osp.abspath(config), 'time', epochs, args,
                             root, cap))
    table = pd.DataFrame(rows)
    markdown = table.to_markdown(index=False, floatfmt='.4g') + '\n'
    print(markdown, end='')
    write_tables(table, args.out, args.name, markdown)
    return 0


if __name__ == '__main__':
    sys.exit(main())
