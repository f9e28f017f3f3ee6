"""Run every real recipe for a few iterations on the tiny data sets.

``mimb-dryrun`` runs each real pretraining config of every method
(``configs/{mae,emae,convmae,um-mae,simmim}/``, not the smoke variants on
the tiny data or micro models; ``--configs`` chooses some and their order),
each followed by the protocols its ``mimb_downstream`` names (fine-tune,
linear probe, kNN, Mask R-CNN, UperNet), as the ``mim train`` / ``mim test``
commands that ``mimb-pipeline`` builds
(:func:`benchmarks.stages.stage_command`): the real model, input
resolution, data pipeline, optimizer, schedule type and bf16 AMP, the
transfer stages starting from the real-size pretraining checkpoint through
the strict hand-off (or from the stage the config's ``mimb_init_from``
names, as the pipeline does). Only three things are shrunk, with
``--cfg-options`` that the command prints for every run:

* the batch size per process of every data loader (``--batch-size``; at
  least 2 for a model with BatchNorm, which cannot train on one sample
  where it normalises one value per channel: the linear probe's neck,
  UperNet's 1x1 pooling branch);
* the samples: every data set reads the tiny sets of
  :mod:`benchmarks.tiny_data` (generated under ``--data-root`` when
  missing), COCO evaluators their annotation file, and ``indices`` keeps
  iterations x batch x processes samples for training (a ``RepeatDataset``
  repeats once) and one batch per process for validation;
* the iterations: an epoch-based loop runs 1 epoch over those samples, an
  iteration-based one ``--iters`` iterations; validation and checkpoints
  come at the end, the logger writes every iteration unsmoothed (so
  ``vis_data/scalars.json`` holds each iteration's loss and time).

A kNN run embeds ``--iters`` batches of bank images and classifies
``--iters`` batches of queries. ``--share-protocols`` runs a protocol config
that several pretraining configs name (same encoder) once, with the first
one's checkpoint, and says so in the table; ``--append`` adds to the
table of an earlier invocation (whose shared protocols then count as run).
A config whose bf16 AMP fails on a dtype error is run again in fp32
(logged, and marked in the table) unless ``--no-fp32-fallback``;
``--fp32 STAGE ...`` runs those stages in fp32 from the start (for CPUs
where bf16 is too slow at detection sizes). One failing run does not stop
the others; the exit code is 1 if any failed.

The table (``<out>/dryrun.csv`` and ``.md``, rewritten after every run, the
runs still to come marked ``pending``) has one row per (pretraining config,
stage): status (``ran`` / ``error`` and the error's last line),
iterations, s/iter (training: mean per-iteration time of
``scalars.json``; kNN: the test run's wall time per batch), peak memory
(``run_summary.json``), first and last loss, precision, the main metrics,
and whose checkpoint the run used.
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import shlex
import sys
from typing import Any, Dict, List, Optional, Tuple

import pandas as pd
from mmengine.config import Config

from benchmarks.errors import (EXCEPTION_LINE, MIM_WRAPPER, cli_main,
                               read_config)
from benchmarks.stages import (STAGES, TEST_STAGES, TINY_DATA, PipelineError,
                               init_sources, last_checkpoint, read_summary,
                               relative_config, run_logged, stage_command)

METHODS = ('mae', 'emae', 'convmae', 'um-mae', 'simmim')
# smoke configs train on the tiny data (``_tiny-in1k``, ``_tiny-coco``,
# ``_tiny-ade20k``) or are micro models; Swin-T (``swin-tiny``) is real
SMOKE_WORDS = ('_tiny-', 'micro')
# where the tiny sets of each dataset class live under --data-root
TINY_SETS = dict(ImageNet='imagenet', CocoDataset='coco',
                 ADE20KDataset=osp.join('ade', 'ADEChallengeData2016'))
# and of the suite's checked subclasses of each (backbones/datasets/checked.py)
TINY_SETS.update({f'Checked{kind}': folder
                  for kind, folder in TINY_SETS.items()})
METRICS = ('accuracy/top1', 'knn/top1', 'coco/bbox_mAP', 'coco/segm_mAP',
           'mIoU')
# a model config with BatchNorm layers (any norm_cfg or module type)
BATCHNORM = re.compile(r"'type': '(mmpretrain\.|mmseg\.|mmdet\.)?"
                       r"(SyncBN|BN|BN[123]d|\w*BatchNorm\w*)'")
# a failed bf16 run whose last error line matches this is run in fp32
DTYPE_ERROR = re.compile(
    r'bfloat16|BFloat16|autocast|AmpOptimWrapper|dtype|scalar type', re.I)
# not shrinking: each iteration's loss and time in vis_data/scalars.json
LOGGING = {'default_hooks.logger.interval': 1, 'log_processor.window_size': 1}
COLUMNS = ('pretrain', 'stage', 'config', 'status', 'error', 'batch',
           'iterations', 's_per_iter', 'peak_memory_mb', 'first_loss',
           'last_loss', 'precision', 'metrics', 'wall_s', 'checkpoint_of')
FP32_CONFIG = '''# mimb-dryrun: {config} in fp32 (no AMP)
_base_ = [{config!r}]
optim_wrapper = {wrapper!r}
'''


class DryRunError(RuntimeError):
    """A config cannot be shrunk or its tiny data is missing."""


class RunFailed(PipelineError):
    """A run exited non-zero; the message is its last error line."""


def is_smoke(path: str) -> bool:
    """Whether a config is a smoke variant (tiny data or micro model)."""
    return any(word in osp.basename(path) for word in SMOKE_WORDS)


def real_pretrain_configs(root: str = 'configs') -> List[str]:
    """The real pretraining configs of every method, sorted per method."""
    return [path for method in METHODS
            for path in sorted(glob.glob(osp.join(root, method, '*.py')))
            if not is_smoke(path)]


def _type_name(cfg: dict) -> str:
    return str(cfg.get('type', '')).split('.')[-1]


def _datasets(loader: dict, key: str) -> Tuple[str, dict, Optional[str]]:
    """The innermost dataset of a loader, its key, and a repeat wrapper's
    key (None without one)."""
    dataset, repeat = loader['dataset'], None
    key += '.dataset'
    while 'dataset' in dataset:
        if _type_name(dataset) == 'RepeatDataset':
            repeat = key
        dataset, key = dataset['dataset'], key + '.dataset'
    return key, dataset, repeat


def _tiny_root(dataset: dict, data_root: str, where: str) -> str:
    kind = _type_name(dataset)
    if kind not in TINY_SETS:
        raise DryRunError(f'{where}: no tiny data set for dataset type '
                          f'{kind!r}; known: {sorted(TINY_SETS)}')
    return osp.join(data_root, TINY_SETS[kind]) + os.sep


def _get(cfg, key: str):
    """The value at a dotted key (list items by index), None if unset."""
    node = cfg
    for part in key.split('.'):
        if isinstance(node, (dict, Config)):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit():
            node = node[int(part)]
        else:
            return None
    return node


def shrink_options(cfg: Config, test: bool, iters: int, batch: int,
                   procs: int, data_root: str) -> List[Tuple[str, Any, Any]]:
    """What to shrink in one config, as ``--cfg-options`` entries.

    Args:
        cfg (Config): The stage's config.
        test (bool): Whether it runs as ``mim test`` (kNN).
        iters (int): Training iterations (kNN: bank and query batches).
        batch (int): Batch size per process (raised to 2 when the model
            has BatchNorm).
        procs (int): Number of processes of the launcher.
        data_root (str): Folder of the tiny data sets.

    Returns:
        list[tuple]: ``(key, old value, new value)`` where they differ; old
        is None where the config does not set the key. Besides the shrinking,
        :data:`LOGGING` logs every iteration unsmoothed.

    Raises:
        DryRunError: A data set type without a tiny set, an evaluator
            annotation file that is not COCO's, or a training loop with
            neither ``max_epochs`` nor ``max_iters``.
    """
    name = osp.basename(cfg.filename)
    if BATCHNORM.search(repr(cfg.get('model'))):
        batch = max(batch, 2)
    new: Dict[str, Any] = {}
    if test:
        loaders = (('test_dataloader', iters),
                   ('test_cfg.bank_dataloader', iters))
    else:
        loaders = (('train_dataloader', iters), ('val_dataloader', 1))
    for key, batches in loaders:
        loader = _get(cfg, key)
        if not loader:
            continue
        new[f'{key}.batch_size'] = batch
        ds_key, dataset, repeat = _datasets(loader, key)
        new[f'{ds_key}.data_root'] = _tiny_root(dataset, data_root,
                                                f'{name} {ds_key}')
        new[f'{ds_key}.indices'] = batches * batch * procs
        if repeat:
            new[f'{repeat}.times'] = 1
    ev_key = 'test_evaluator' if test else 'val_evaluator'
    evaluators = _get(cfg, ev_key) if test or cfg.get('val_dataloader') \
        else None
    if isinstance(evaluators, dict):
        evaluators = {ev_key: evaluators}
    else:
        evaluators = {f'{ev_key}.{i}': e
                      for i, e in enumerate(evaluators or [])}
    for key, evaluator in evaluators.items():
        if 'ann_file' not in evaluator:
            continue
        if _type_name(evaluator) != 'CocoMetric':
            raise DryRunError(f'{name} {key}: no tiny annotation file for '
                              f'{_type_name(evaluator)}')
        new[f'{key}.ann_file'] = osp.join(
            data_root, TINY_SETS['CocoDataset'], 'annotations',
            osp.basename(evaluator['ann_file']))
    if not test:
        loop = cfg.get('train_cfg') or {}
        if 'max_iters' in loop:
            end, new['train_cfg.max_iters'] = iters, iters
        elif 'max_epochs' in loop:
            end, new['train_cfg.max_epochs'] = 1, 1
        else:
            raise DryRunError(f'{name} train_cfg {dict(loop)} sets neither '
                              'max_epochs nor max_iters')
        if cfg.get('val_dataloader'):
            new['train_cfg.val_interval'] = end
        if _get(cfg, 'default_hooks.checkpoint'):
            new['default_hooks.checkpoint.interval'] = end
    new.update(LOGGING)
    return [(key, _get(cfg, key), value) for key, value in new.items()
            if _get(cfg, key) != value]


def precision(cfg: Config, test: bool) -> str:
    """``bf16 autocast`` / ``fp16 autocast`` for an AMP config, else fp32."""
    wrapper = cfg.get('optim_wrapper') or {}
    if test or _type_name(wrapper) != 'AmpOptimWrapper':
        return 'fp32'
    dtype = wrapper.get('dtype') or 'float16'
    return dict(bfloat16='bf16', float16='fp16').get(dtype, dtype) + \
        ' autocast'


def fp32_config(cfg: Config, work_dir: str) -> str:
    """A config that inherits ``cfg`` with a plain fp32 ``OptimWrapper``
    (constructor, optimizer, clipping and paramwise settings kept)."""
    wrapper = {k: v for k, v in cfg.optim_wrapper.to_dict().items()
               if k not in ('dtype', 'loss_scale', 'use_fsdp')}
    wrapper.update(_delete_=True, type='OptimWrapper')
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, 'fp32_' + osp.basename(cfg.filename))
    with open(path, 'w') as f:
        f.write(FP32_CONFIG.format(config=cfg.filename, wrapper=wrapper))
    return path


def error_line(log_path: str, fallback: str) -> str:
    """The exception line nearest the end of a run's log (not mim's own
    wrapper around the failed tool)."""
    try:
        with open(log_path, errors='replace') as f:
            lines = [line.strip() for line in f if line.strip()]
    except OSError:
        lines = []
    for line in reversed(lines):
        if EXCEPTION_LINE.match(line) and not line.startswith(MIM_WRAPPER):
            return line
    return (lines or [fallback.strip().splitlines()[0]])[-1]


def read_scalars(work_dir: str) -> List[dict]:
    """The training records of the newest ``*/vis_data/scalars.json``."""
    records = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                          'scalars.json')))[-1:]:
        with open(path) as f:
            records = [json.loads(line) for line in f if line.strip()]
    return [r for r in records if 'loss' in r]


def measure(work_dir: str, test: bool, batches: int) -> Dict[str, Any]:
    """Iterations, s/iter, peak memory, losses and metrics of one run."""
    summary = read_summary(work_dir)
    if summary is None:
        raise PipelineError(f'the run wrote no run_summary.json in '
                            f'{work_dir}')
    cost = summary['cost']
    row = dict(peak_memory_mb=round(cost['peak_memory_mb']),
               metrics=' '.join(f'{k}={v:.4g}' for k, v in
                                summary['metrics'].items() if k in METRICS))
    if test:
        row.update(iterations=batches,
                   s_per_iter=cost['wall_time_s'] / (2 * batches))
        return row
    records = read_scalars(work_dir) or [{}]
    row.update(iterations=cost['iterations'],
               s_per_iter=(sum(r.get('time', 0) for r in records) /
                           len(records) or None),
               first_loss=records[0].get('loss'),
               last_loss=records[-1].get('loss'))
    return row


class DryRun:
    """Runs the stages of the chosen configs and keeps the table."""

    def __init__(self, args) -> None:
        self.args = args
        self.procs = args.gpus if args.launcher != 'none' else 1
        self.rows: List[dict] = []
        # pretraining config -> the stage each transfer stage starts from
        self.sources: Dict[str, Dict[str, str]] = {}
        self.shared: Dict[str, dict] = {}  # protocol config -> its row
        for row in self.earlier():
            if args.share_protocols and row['stage'] != 'pretrain' and \
                    row['checkpoint_of']:
                self.shared.setdefault(osp.abspath(row['config']), row)

    def earlier(self) -> List[dict]:
        """With ``--append``, the rows the table in ``--out`` holds now (read
        at every write, so invocations may run side by side)."""
        csv = osp.join(self.args.out, 'dryrun.csv')
        if not (self.args.append and osp.isfile(csv)):
            return []
        table = pd.read_csv(csv).astype(object)
        return [{k: (None if pd.isna(v) else v) for k, v in row.items()}
                for row in table.to_dict('records')]

    def plan(self) -> List[Tuple[str, str, str]]:
        """(pretraining config, stage, stage config) of every run."""
        runs = []
        for config in self.args.configs:
            cfg = read_config(config)
            downstream = cfg.get('mimb_downstream') or {}
            self.sources[config] = init_sources(cfg, list(STAGES))
            for stage in (s for s in STAGES if s in self.args.stages):
                if stage == 'pretrain':
                    runs.append((config, stage, config))
                elif stage in downstream:
                    runs.append((config, stage,
                                 relative_config(config, downstream[stage])))
        return runs

    def run_one(self, pretrain: str, stage: str, config: str,
                number: str) -> dict:
        """Run one stage; its table row (status ``error`` on failure)."""
        args = self.args
        row = dict(pretrain=osp.relpath(pretrain), stage=stage,
                   config=osp.relpath(config), checkpoint_of=None)
        print(f'[dryrun {number}] {row["pretrain"]}: {stage} '
              f'{row["config"]}', flush=True)
        first = self.shared.get(config)
        if first is not None and first['pretrain'] != row['pretrain']:
            print(f'[dryrun] shared protocol: ran once, for '
                  f'{first["pretrain"]}; not run again', flush=True)
            return dict(first, pretrain=row['pretrain'], stage=stage)
        work_dir = osp.abspath(osp.join(
            args.work_dir, osp.splitext(osp.basename(pretrain))[0], stage))
        try:
            checkpoint = None
            if stage != 'pretrain':
                source = self.sources[pretrain][stage]
                checkpoint = last_checkpoint(osp.join(
                    osp.dirname(work_dir), source))
                row['checkpoint_of'] = row['pretrain'] + (
                    '' if source == 'pretrain' else f' ({source})')
            row.update(self.execute(stage, config, work_dir, checkpoint))
            row['status'] = 'ran'
            if not (args.keep_checkpoints or stage == 'pretrain' or
                    stage in self.sources[pretrain].values()):
                remove_checkpoints(work_dir)
        except Exception as err:  # a failure ends this row, not the run
            message = (str(err).splitlines() or [''])[0]
            if not isinstance(err, (PipelineError, DryRunError)):
                message = f'{type(err).__name__}: {message}'
            row.update(status='error', error=message)
            print(f'[dryrun] error: {row["error"]}', flush=True)
        if stage != 'pretrain' and args.share_protocols and \
                row['checkpoint_of']:
            self.shared[config] = row
        return row

    def execute(self, stage: str, config: str, work_dir: str,
                checkpoint: Optional[str]) -> dict:
        """Shrink, run (and fall back to fp32 if bf16 fails), measure."""
        args = self.args
        cfg = Config.fromfile(config)
        test = stage in TEST_STAGES
        options = shrink_options(cfg, test, args.iters, args.batch_size,
                                 self.procs, osp.abspath(args.data_root))
        for key, old, new in options:
            what = 'logging' if key in LOGGING else 'shrunk'
            print(f'[dryrun]   {what} {key}: {old!r} -> {new!r}')
        mode = precision(cfg, test)
        if stage in args.fp32 and mode != 'fp32':
            print(f'[dryrun]   fp32 instead of {mode} (--fp32 {stage}): '
                  f'{config}', flush=True)
            config, mode = fp32_config(cfg, work_dir), 'fp32 (--fp32)'
        extra = [f'{key}={value}' for key, _, value in options]
        try:
            wall = self.launch(stage, config, work_dir, checkpoint, extra)
        except RunFailed as err:
            last = str(err)
            if mode == 'fp32' or args.no_fp32_fallback or \
                    not DTYPE_ERROR.search(last):
                raise
            print(f'[dryrun] fp32 fallback: the bf16 AMP of {config} does '
                  f'not run here ({last}); running it in fp32', flush=True)
            wall = self.launch(stage, fp32_config(cfg, work_dir), work_dir,
                               checkpoint, extra)
            mode = f'fp32 (bf16 failed: {last})'
        key = ('test' if test else 'train') + '_dataloader.batch_size'
        batch = {k: n for k, _, n in options}.get(key, _get(cfg, key))
        row = dict(measure(work_dir, test, args.iters), precision=mode,
                   batch=batch, wall_s=round(wall, 1))
        losses = [row.get(k) for k in ('first_loss', 'last_loss')]
        print(f'[dryrun]   ran: {row["iterations"]} iterations at batch '
              f'{batch}, {row["s_per_iter"] or 0:.4g} s/iter, peak '
              f'{row["peak_memory_mb"]} MB, loss {losses[0]} -> {losses[1]}, '
              f'{mode}, {wall:.0f} s', flush=True)
        return row

    def launch(self, stage: str, config: str, work_dir: str,
               checkpoint: Optional[str], extra: List[str]) -> float:
        """Run the stage's ``mim`` command with the shrink options.

        Returns:
            float: Wall time in seconds.

        Raises:
            RunFailed: Non-zero exit (the log is ``stage.log``).
        """
        cmd = stage_command(stage, config, work_dir, checkpoint,
                            self.args) + extra
        print(f'[dryrun]   $ {shlex.join(cmd)}', flush=True)
        log = osp.join(work_dir, 'stage.log')
        try:
            return run_logged(cmd, log, stage)
        except PipelineError as err:
            raise RunFailed(error_line(log, str(err))) from err

    def write(self, pending=()) -> List[str]:
        """Write the table as CSV and Markdown; returns the paths.

        Rows are keyed by (pretraining config, stage) and sorted so: this
        invocation's results replace earlier rows, its runs still to come
        fill the keys the table lacks.

        Args:
            pending (Sequence[tuple]): Runs of the plan still to come,
                listed with status ``pending``.
        """
        rows = {(r['pretrain'], r['stage']): r for r in self.earlier()}
        for p, s, c in pending:
            rows.setdefault((osp.relpath(p), s), dict(
                pretrain=osp.relpath(p), stage=s, config=osp.relpath(c),
                status='pending'))
        rows.update({(r['pretrain'], r['stage']): r for r in self.rows})
        order = sorted(rows, key=lambda k: (k[0], STAGES.index(k[1])))
        table = pd.DataFrame([rows[k] for k in order], columns=list(COLUMNS))
        os.makedirs(self.args.out, exist_ok=True)
        csv = osp.join(self.args.out, 'dryrun.csv')
        md = osp.join(self.args.out, 'dryrun.md')
        for path, text in ((csv, table.to_csv(index=False)),
                           (md, table.fillna('').to_markdown(
                               index=False, floatfmt='.4g') + '\n')):
            with open(path + '.tmp', 'w') as f:  # readers never see half
                f.write(text)
            os.replace(path + '.tmp', path)
        return [csv, md]

    def run(self) -> pd.DataFrame:
        """Every planned run in order; the table is rewritten after each."""
        runs = self.plan()
        if self.args.plan_only:
            self.write(runs)
            return pd.DataFrame(self.rows, columns=list(COLUMNS))
        by_config: Dict[str, int] = {}
        for pretrain, _, _ in runs:
            by_config[pretrain] = by_config.get(pretrain, 0) + 1
        for i, (pretrain, stage, config) in enumerate(runs, 1):
            self.rows.append(self.run_one(pretrain, stage, config,
                                          f'{i}/{len(runs)}'))
            self.write(runs[i:])
            by_config[pretrain] -= 1
            if not by_config[pretrain] and not self.args.keep_checkpoints:
                root = osp.join(self.args.work_dir,
                                osp.splitext(osp.basename(pretrain))[0])
                for source in {'pretrain', *self.sources[pretrain].values()}:
                    remove_checkpoints(osp.join(root, source))
        return pd.DataFrame(self.rows, columns=list(COLUMNS))


def remove_checkpoints(work_dir: str) -> None:
    """Delete the ``*.pth`` files of a finished run (disk space)."""
    for path in glob.glob(osp.join(work_dir, '*.pth')):
        os.remove(path)


def ensure_tiny_data(root: str) -> None:
    """Generate the tiny data sets under ``root`` when one is missing.

    Raises:
        DryRunError: The tiny COCO there predates the real COCO categories.
    """
    from benchmarks.tiny_data import COCO_IDS, generate
    if not all(osp.isdir(osp.join(root, sub)) for sub in TINY_SETS.values()):
        print(f'[dryrun] generating the tiny data sets in {root}', flush=True)
        generate(root)
    ann = osp.join(root, 'coco', 'annotations', 'instances_val2017.json')
    with open(ann) as f:
        names = {c['name'] for c in json.load(f)['categories']}
    if names != set(COCO_IDS):
        raise DryRunError(f'{ann} does not list the 80 COCO categories '
                          f'(written by an older mimb-data): regenerate it '
                          f'with mimb-data --out {root}')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='mimb-dryrun', description=__doc__.split('\n\n')[0],
        epilog='Example: mimb-dryrun --configs configs/mae/'
        'mae_vit-base-p16_8xb512-amp-coslr-800e_in1k.py --stages pretrain '
        'det',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--configs', nargs='+',
                        help='pretraining configs (default: every real one '
                        f'of {", ".join(METHODS)})')
    parser.add_argument('--stages', nargs='+', default=list(STAGES),
                        choices=STAGES, help='stages to run; without '
                        'pretrain, the transfer stages start from the '
                        'checkpoint an earlier dry run left in --work-dir '
                        '(see --keep-checkpoints)')
    parser.add_argument('--iters', type=int, default=2,
                        help='training iterations per run')
    parser.add_argument('--batch-size', type=int, default=1,
                        help='batch size per process')
    parser.add_argument('--data-root', default=TINY_DATA,
                        help='tiny data sets (generated if missing)')
    parser.add_argument('--work-dir', default='work_dirs/dryrun')
    parser.add_argument('--out', default='results',
                        help='folder of dryrun.csv and dryrun.md')
    parser.add_argument('--append', action='store_true',
                        help='update the table in --out (its protocols count '
                        'as run for --share-protocols); invocations with '
                        'other configs or stages may append side by side')
    parser.add_argument('--plan-only', action='store_true',
                        help='write the planned runs into the table as '
                        'pending (where it has no row for them) and stop')
    parser.add_argument('--share-protocols', action='store_true',
                        help='run a protocol config that several '
                        'pretraining configs name only once')
    parser.add_argument('--fp32', nargs='+', default=[], choices=STAGES,
                        metavar='STAGE', help='run these stages in fp32 '
                        "instead of their config's AMP (for CPUs without "
                        'native bf16, logged per config)')
    parser.add_argument('--no-fp32-fallback', action='store_true',
                        help='do not rerun a bf16 run that failed on a '
                        'dtype error in fp32')
    parser.add_argument('--keep-checkpoints', action='store_true',
                        help='keep the checkpoints (deleted once no later '
                        'run needs them)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--launcher', default='none',
                        choices=('none', 'pytorch', 'slurm'))
    parser.add_argument('--gpus', type=int, default=2,
                        help='processes per run with --launcher '
                        'pytorch/slurm')
    parser.add_argument('--partition', help='slurm partition')
    parser.set_defaults(tensorboard=False)  # read by stage_command
    args = parser.parse_args(argv)
    if args.iters < 1 or args.batch_size < 1 or args.gpus < 1:
        parser.error('--iters, --batch-size and --gpus must be >= 1')
    if args.launcher == 'slurm' and not args.partition:
        parser.error('--launcher slurm needs --partition')
    args.configs = [osp.abspath(c) for c in
                    args.configs or real_pretrain_configs()]
    missing = [c for c in args.configs if not osp.isfile(c)]
    if missing:
        parser.error(f'configs not found: {missing}')
    return args


@cli_main('mimb-dryrun', DryRunError, PipelineError)
def main(argv=None) -> int:
    args = parse_args(argv)
    print(f'[dryrun] {len(args.configs)} pretraining configs, stages '
          f'{" ".join(args.stages)}; {args.iters} iterations at batch '
          f'{args.batch_size} per process, launcher {args.launcher}')
    ensure_tiny_data(args.data_root)
    dry = DryRun(args)
    table = dry.run()
    print(table.fillna('').to_markdown(index=False, floatfmt='.4g'))
    print('[dryrun] table: ' + ', '.join(dry.write()))
    failed = table[table.status == 'error']
    for row in failed.itertuples():
        print(f'mimb-dryrun: error: {row.pretrain} {row.stage} '
              f'{row.config}: {row.error}', file=sys.stderr)
    return 1 if len(failed) else 0


if __name__ == '__main__':
    sys.exit(main())
