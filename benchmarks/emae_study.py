"""Measure EMAE's self-consistency term at smoke scale.

The paper (arXiv 2302.14431) leaves the term's distance and weight open.
Each setting runs ``mimb-pipeline --smoke`` once per ``--seeds`` (pretrain,
then the smoke kNN and linear probe that the smoke config's
``mimb_downstream`` names): ``emae-sc-off`` (``sc_weight=0``),
``emae-<distance>-w<weight>`` for ``--distances`` x ``--weights``, ``mae``
at the same epochs, ``mae-time`` for as many epochs as fit into EMAE's
measured pretraining wall time (:func:`equal_time_setting`,
:func:`stretched_schedule`), and the pipeline's ``random-init`` rows. A
setting is a config in ``<work-dir>/configs`` that inherits the smoke
config and overrides only ``sc_weight`` / ``sc_distance`` or the epochs, so
it has its own run folder; finished stages are skipped on a rerun.

Writes into ``--out``: ``emae_study.{csv,md}`` (per setting: kNN and linear
top-1 mean and std over seeds and their difference to sc off paired by
seed, pretraining wall time, the last epoch's losses),
``emae_study_runs.{csv,md}`` (per seed) and ``emae_study_losses.png``
(per-epoch reconstruction loss and self-consistency distance, mean over
seeds).
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import re
import shlex
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import pandas as pd

from backbones.engine.fileio import atomic_write_text
from benchmarks.errors import cli_main, read_config
from benchmarks.leaderboard import write_tables
from benchmarks.stages import (PipelineError, parse_config_name, read_summary,
                               relative_config)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
EMAE_SMOKE = osp.join(REPO, 'configs', 'emae',
                      'emae_vit-tiny-p4_1xb32-coslr-30e_tiny-in1k-32px.py')
MAE_SMOKE = osp.join(REPO, 'configs', 'mae',
                     'mae_vit-tiny-p4_1xb32-coslr-30e_tiny-in1k-32px.py')
DISTANCES = ('l1', 'mse')
TRANSFER = ('linear', 'knn')
METRIC_KEYS = {'knn': 'knn/top1', 'linear': 'accuracy/top1'}
NAME = 'emae_study'
RANDOM_INIT = 'random-init'  # the pipeline's untrained-encoder runs


@dataclass(frozen=True)
class Setting:
    """One row of the study: ``name`` is the method part of its config's
    name and run folder (``emae-l1-w0p3``), ``label`` what it is for people,
    ``base`` the smoke config it inherits; ``sc_weight`` and
    ``sc_distance`` are None for MAE."""
    name: str
    label: str
    base: str
    epochs: int
    sc_weight: Optional[float] = None
    sc_distance: Optional[str] = None

    @property
    def is_emae(self) -> bool:
        return self.sc_weight is not None


def weight_tag(weight: float) -> str:
    """A weight as file names can carry it: 0.3 -> ``0p3``, 1.0 -> ``1``."""
    return f'{weight:g}'.replace('.', 'p')


def parse_weight(text: str) -> float:
    """A finite self-consistency weight > 0, or a ValueError."""
    try:
        weight = float(text)
    except ValueError:
        raise ValueError(f'sc weight {text!r} is not a number') from None
    if not math.isfinite(weight) or weight <= 0:
        raise ValueError(f'sc weight must be a finite number > 0 (the term '
                         f'off, weight 0, is always run), got {text!r}')
    return weight


def expand_grid(weights: Sequence[str], distances: Sequence[str],
                epochs: int) -> List[Setting]:
    """The settings before the equal-wall-time MAE, all of ``epochs``:
    sc off, each (distance, weight) in the order given (duplicates
    dropped), MAE.

    Args:
        weights (Sequence[str]): Weights of every distance that names none.
        distances (Sequence[str]): ``l1``, ``mse``, or ``mse:1,3`` (a
            distance with its own comma-separated weights).
        epochs (int): The smoke configs' epochs.

    Raises:
        ValueError: An unknown distance, a bad weight, a distance without
            weights.
    """
    grid = [Setting('emae-sc-off', 'EMAE, self-consistency off', EMAE_SMOKE,
                    epochs, 0.0, 'l1')]
    seen = set()
    for spec in distances:
        distance, _, own = spec.partition(':')
        if distance not in DISTANCES:
            raise ValueError(f'distance {spec!r}: expected one of '
                             f'{DISTANCES}, optionally with weights as in '
                             "'mse:1,3'")
        values = own.split(',') if own else list(weights)
        if not values:
            raise ValueError(f'distance {spec!r} has no weights (give '
                             '--weights or distance:w1,w2)')
        for weight in map(parse_weight, values):
            if (distance, weight) in seen:
                continue
            seen.add((distance, weight))
            grid.append(Setting(
                f'emae-{distance}-w{weight_tag(weight)}',
                f'EMAE, {distance} x {weight:g}', EMAE_SMOKE, epochs,
                weight, distance))
    grid.append(Setting('mae', f'MAE, equal epochs ({epochs})', MAE_SMOKE,
                        epochs))
    return grid


def equal_time_epochs(target_wall_s: float, mae_runs: pd.DataFrame
                      ) -> Tuple[int, float, float]:
    """Epochs of MAE that fit into a pretraining wall time.

    A run's wall time is a fixed part (building the runner and data, saving
    checkpoints: wall time - train time) plus its epochs times the time of
    one epoch (train time / epochs). Both are measured, as means, on MAE's
    equal-epoch runs; the answer is the largest whole number of epochs
    whose predicted wall time is within the target.

    Args:
        target_wall_s (float): The wall time to fill (EMAE's mean).
        mae_runs (pd.DataFrame): MAE's runs from :func:`collect`.

    Returns:
        tuple[int, float, float]: The epochs (>= 1), the fixed part and the
        epoch time in seconds.

    Raises:
        ValueError: No runs, or a target below the fixed part + 1 epoch.
    """
    if not len(mae_runs):
        raise ValueError('no finished MAE pretraining run to measure its '
                         'epoch time from')
    fixed = (mae_runs.pretrain_wall_s - mae_runs.pretrain_train_s).mean()
    per_epoch = (mae_runs.pretrain_train_s / mae_runs.epochs).mean()
    epochs = int((target_wall_s - fixed) // per_epoch)
    if epochs < 1:
        raise ValueError(
            f'a wall time of {target_wall_s:.1f} s does not fit one MAE '
            f'epoch ({fixed:.1f} s fixed + {per_epoch:.2f} s per epoch)')
    return epochs, fixed, per_epoch


def stretched_schedule(schedulers: Sequence[dict], epochs: int) -> list:
    """The smoke warm-up + cosine schedule (``schedulers``: a ``LinearLR``
    then a ``CosineAnnealingLR``), the cosine's ``begin``, ``end`` and
    ``T_max`` set to end at ``epochs``.

    MAE's recipes train longer the same way: the warm-up epochs are kept
    and the cosine runs to the new end (40 warm-up epochs at 400 to 1600).

    Raises:
        ValueError: Another schedule shape, or too few epochs.
    """
    types = [s.get('type') for s in schedulers]
    if types != ['LinearLR', 'CosineAnnealingLR']:
        raise ValueError(f'expected a LinearLR warm-up then '
                         f'CosineAnnealingLR, got schedulers {types}')
    warm, cosine = (dict(s) for s in schedulers)
    if epochs <= warm['end']:
        raise ValueError(f'{epochs} epochs do not go past the '
                         f"{warm['end']} warm-up epochs")
    cosine.update(begin=warm['end'], end=epochs, T_max=epochs - warm['end'])
    return [warm, cosine]


def derived_config(setting: Setting, stages: Sequence[str]) -> str:
    """The text of the config of ``setting``: it inherits the smoke config
    and overrides only what differs; its ``mimb_downstream`` paths are
    absolute (the pipeline reads them relative to the config's folder).

    Raises:
        PipelineError: The smoke config names no config, or a missing one,
            for a stage in ``stages``.
    """
    cfg = read_config(setting.base)
    downstream = cfg.get('mimb_downstream') or {}
    missing = [s for s in stages if s not in downstream]
    if missing:
        raise PipelineError(f'{setting.base} has no mimb_downstream entry '
                            f'for {missing}; it has {sorted(downstream)}')
    lines = [f'# mimb-emae-study: {setting.label}. Everything else is the '
             'smoke config.', f'_base_ = [{setting.base!r}]']
    if setting.is_emae:
        lines.append(f'model = dict(sc_weight={setting.sc_weight!r}, '
                     f'sc_distance={setting.sc_distance!r})')
    if setting.epochs != cfg.train_cfg.max_epochs:
        schedule = stretched_schedule(cfg.param_scheduler, setting.epochs)
        lines += [f'train_cfg = dict(max_epochs={setting.epochs})',
                  f'param_scheduler = {schedule!r}']
    paths = {s: relative_config(setting.base, downstream[s]) for s in stages}
    lines.append(f'mimb_downstream = dict(_delete_=True, **{paths!r})')
    return '\n'.join(lines) + '\n'


def config_path(setting: Setting, config_dir: str) -> str:
    """``{setting.name}_{backbone}_{training with epochs}_{data}.py``."""
    parts = osp.splitext(osp.basename(setting.base))[0].split('_')
    parse_config_name(setting.base)  # the base follows the naming
    parts[0] = setting.name
    parts[2] = re.sub(r'\d+e(?=-|$)', f'{setting.epochs}e', parts[2], 1)
    return osp.join(config_dir, '_'.join(parts) + '.py')


def run_folder(config: str, seed: int, runs_root: str) -> str:
    """The pipeline's run folder of ``config`` and ``seed``."""
    n = parse_config_name(config)
    return osp.join(runs_root,
                    f"{n['method']}_{n['backbone']}_{n['schedule']}"
                    f'_seed{seed}')


def epoch_losses(pretrain_dir: str, sc_weight: Optional[float]
                 ) -> pd.DataFrame:
    """Per-epoch means of the logged loss terms of a pretraining stage.

    Reads every ``<timestamp>/vis_data/scalars.json`` of ``pretrain_dir``
    (a resumed run has several; a later record of an iteration wins).
    Returns columns ``epoch``, ``rec`` (``loss_rec``, or MAE's ``loss``)
    and ``sc`` (the self-consistency distance ``loss_sc / sc_weight``; NaN
    when the term is off or the run is MAE's).
    """
    records = {}
    for path in sorted(glob.glob(osp.join(pretrain_dir, '*', 'vis_data',
                                          'scalars.json'))):
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if 'loss' in rec and 'epoch' in rec:
                    records[rec['step']] = rec
    rows = []
    for rec in records.values():
        sc = (rec['loss_sc'] / sc_weight
              if sc_weight and 'loss_sc' in rec else math.nan)
        rows.append(dict(epoch=rec['epoch'],
                         rec=rec.get('loss_rec', rec['loss']), sc=sc))
    frame = pd.DataFrame(rows, columns=['epoch', 'rec', 'sc'], dtype=float)
    return frame.groupby('epoch', as_index=False).mean()


def collect(setting: Setting, config: str, seeds: Sequence[int],
            runs_root: str) -> Tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, losses) of one setting: a row per seed whose pretraining
    finished (``knn_top1`` / ``linear_top1`` NaN where that stage did not),
    and their per-epoch loss terms (:func:`epoch_losses`)."""
    runs, losses = [], []
    for seed in seeds:
        folder = run_folder(config, seed, runs_root)
        pre = read_summary(osp.join(folder, 'pretrain'))
        if not (pre and pre.get('finished')):
            continue
        row = dict(setting=setting.name, seed=seed,
                   epochs=pre['cost']['epochs'],
                   pretrain_wall_s=pre['cost']['wall_time_s'],
                   pretrain_train_s=pre['cost']['train_time_s'])
        for stage, key in METRIC_KEYS.items():
            done = read_summary(osp.join(folder, stage)) or {}
            value = (done.get('metrics', {}).get(key)
                     if done.get('finished') else None)
            row[f'{stage}_top1'] = math.nan if value is None else value
        runs.append(row)
        curve = epoch_losses(osp.join(folder, 'pretrain'), setting.sc_weight)
        losses.append(curve.assign(setting=setting.name, seed=seed))
    columns = ['setting', 'seed', 'epochs', 'pretrain_wall_s',
               'pretrain_train_s', 'knn_top1', 'linear_top1']
    none = pd.DataFrame(dict(epoch=[], rec=[], sc=[], setting=[], seed=[]),
                        dtype=float)
    return (pd.DataFrame(runs, columns=columns),
            pd.concat(losses, ignore_index=True) if losses else none)


def build_table(settings: Sequence[Setting], runs: pd.DataFrame,
                losses: pd.DataFrame) -> pd.DataFrame:
    """One row per setting (in study order): mean and std over seeds.

    Columns: ``setting``, ``label``, ``sc_distance``, ``sc_weight``,
    ``epochs``, ``seeds``, ``knn_top1`` / ``linear_top1`` /
    ``pretrain_wall_s`` with ``_mean`` and ``_std`` (sample std, NaN for one
    seed); ``knn_top1_vs_first`` / ``linear_top1_vs_first`` with ``_mean``
    and ``_std``: the difference to the first setting (sc off) paired by
    seed (a seed gives both the same start weights, masks and batches); and
    the last epoch's ``final_rec`` and ``final_sc`` (mean over seeds).
    """
    first = runs[runs.setting == settings[0].name].set_index('seed')
    rows = []
    for s in settings:
        mine = runs[runs.setting == s.name]
        row = dict(setting=s.name, label=s.label, sc_distance=s.sc_distance,
                   sc_weight=s.sc_weight, epochs=s.epochs, seeds=len(mine))
        for col in ('knn_top1', 'linear_top1', 'pretrain_wall_s'):
            row[f'{col}_mean'] = mine[col].mean()
            row[f'{col}_std'] = mine[col].std()
        for col in ('knn_top1', 'linear_top1'):
            diff = mine.set_index('seed')[col] - first[col]
            row[f'{col}_vs_first_mean'] = diff.mean()
            row[f'{col}_vs_first_std'] = diff.std()
        curve = losses[losses.setting == s.name]
        last = curve[curve.epoch == curve.epoch.max()]
        row['final_rec'] = last.rec.mean()
        row['final_sc'] = last.sc.mean()
        rows.append(row)
    return pd.DataFrame(rows)


def mean_std(mean: float, std: float, digits: int = 1) -> str:
    """``51.2 ± 2.1``; the mean alone for one seed; ``-`` for none."""
    if pd.isna(mean):
        return '-'
    return (f'{mean:.{digits}f}' if pd.isna(std) else
            f'{mean:.{digits}f} ± {std:.{digits}f}')


def to_markdown(table: pd.DataFrame, notes: Sequence[str]) -> str:
    """The study's Markdown: the notes, then the table."""
    def column(name: str, digits: int = 1) -> List[str]:
        cells = [mean_std(m, s, digits) for m, s in
                 zip(table[f'{name}_mean'], table[f'{name}_std'])]
        return ['reference'] + cells[1:] if '_vs_' in name else cells

    view = pd.DataFrame({
        'setting': table.label, 'epochs': table.epochs,
        'seeds': table.seeds, 'kNN top-1': column('knn_top1'),
        'kNN - sc off, paired': column('knn_top1_vs_first'),
        'linear top-1': column('linear_top1'),
        'linear - sc off, paired': column('linear_top1_vs_first'),
        'pretrain wall s': column('pretrain_wall_s', 0),
        'last-epoch rec loss': table.final_rec.round(4),
        'last-epoch sc distance': table.final_sc.round(4),
    })
    return ('# EMAE self-consistency study (smoke scale)\n\n' +
            ''.join(f'- {note}\n' for note in notes) + '\n' +
            view.to_markdown(index=False) + '\n\n' +
            f'![loss curves]({NAME}_losses.png)\n')


def plot_losses(settings: Sequence[Setting], losses: pd.DataFrame,
                path: str) -> str:
    """Per-epoch reconstruction loss (all settings) and self-consistency
    distance (settings with the term on), mean over seeds, as a PNG."""
    from benchmarks.plots import _save, plt
    fig, (rec_ax, sc_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    for i, s in enumerate(settings):
        curve = losses[losses.setting == s.name].groupby('epoch').mean(
            numeric_only=True)
        if not len(curve):
            continue
        style = dict(color=f'C{i % 10}', label=s.label,
                     linestyle='--' if not s.is_emae else '-')
        rec_ax.plot(curve.index, curve.rec, **style)
        if curve.sc.notna().any():
            sc_ax.plot(curve.index, curve.sc, **style)
    # the first epochs' loss (about 2) would flatten the rest
    final = losses[losses.epoch ==
                   losses.groupby('setting').epoch.transform('max')]
    top = 2 * final.groupby('setting').rec.mean().max()
    rec_ax.set_ylim(top=top if pd.notna(top) else None)
    rec_ax.set_ylabel('reconstruction loss (norm_pix MSE, masked)')
    sc_ax.set_ylabel('self-consistency distance (loss_sc / sc_weight)')
    for ax in (rec_ax, sc_ax):
        ax.set_xlabel('epoch')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle('EMAE smoke pretraining, mean over seeds')
    fig.tight_layout()
    return _save(fig, path)


def run_setting(config: str, seed: int, stages: Sequence[str],
                runs_root: str, log: str, threads: int) -> int:
    """One ``mimb-pipeline --smoke`` run, its output into ``log``; its exit
    code."""
    cmd = [sys.executable, '-m', 'benchmarks.pipeline', config, '--smoke',
           '--stages', 'pretrain', *stages, '--seed', str(seed),
           '--runs-root', runs_root, '--results',
           osp.join(osp.dirname(runs_root), 'leaderboard')]
    os.makedirs(osp.dirname(log), exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    with open(log, 'w') as f:
        f.write('$ ' + shlex.join(cmd) + '\n')
        f.flush()
        return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT,
                              env=env).returncode


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='mimb-emae-study', description=__doc__.split('\n\n')[0],
        epilog='Example: mimb-emae-study --weights 1 --distances l1 mse:1 '
        '--parallel 2  (as results/benchmarks/emae_study.md; run from the '
        'repository, where data/tiny is or will be generated)',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2],
                        help='one pipeline run per seed and setting')
    parser.add_argument('--weights', nargs='+', default=['1'],
                        help='self-consistency weights (> 0) of every '
                        'distance that names none; weight 0 is always run; '
                        'the first (of the first distance) sets the '
                        'equal-wall-time budget')
    parser.add_argument('--distances', nargs='+',
                        default=['mse:1,0.3,3', 'l1:1'],
                        help="'l1', 'mse', or with own weights 'mse:1,3' "
                        '(default: the committed study)')
    parser.add_argument('--stages', nargs='+', default=list(TRANSFER),
                        choices=TRANSFER, help='transfer stages after '
                        'pretraining')
    parser.add_argument('--no-equal-time', action='store_true',
                        help='skip MAE at equal wall time')
    parser.add_argument('--report-only', action='store_true',
                        help='run nothing: the tables and plot from the '
                        'runs already in the work dir')
    parser.add_argument('--parallel', type=int, default=1, metavar='N',
                        help='pipeline runs at once, each with '
                        'OMP_NUM_THREADS = cores // N (unless set)')
    parser.add_argument('--work-dir', default='work_dirs/emae_study',
                        help='derived configs, runs and their logs')
    parser.add_argument('--out', default='results/benchmarks',
                        help='folder of emae_study.{csv,md} and the PNG')
    args = parser.parse_args(argv)
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f'--seeds must be distinct, got {args.seeds}')
    if args.parallel < 1:
        parser.error(f'--parallel must be >= 1, got {args.parallel}')
    return args


def equal_time_setting(settings: Sequence[Setting],
                       configs: Dict[str, str], seeds: Sequence[int],
                       runs_root: str) -> Tuple[Setting, str]:
    """MAE at EMAE's measured mean pretraining wall time, and a note.

    The target is the mean wall time over the seeds of the first setting
    with the term on (the first weight of the first distance; ``l1`` x 1
    by default, as the study in results/benchmarks was run). Every weight
    and distance costs the same, and a target that does not move when
    settings are added keeps the equal-time runs valid on a rerun. The
    epochs come from :func:`equal_time_epochs` on MAE's equal-epoch runs.

    Raises:
        ValueError: No setting with the term on, or no finished run of it
            or of MAE.
    """
    emae = next((s for s in settings if s.sc_weight), None)
    if emae is None:
        raise ValueError('MAE at equal wall time needs a setting with the '
                         'self-consistency term on')
    emae_runs = collect(emae, configs[emae.name], seeds, runs_root)[0]
    if not len(emae_runs):
        raise ValueError(f'no finished {emae.name} run to take the wall '
                         'time from')
    mae = next(s for s in settings if s.name == 'mae')
    mae_runs = collect(mae, configs[mae.name], seeds, runs_root)[0]
    target = emae_runs.pretrain_wall_s.mean()
    epochs, fixed, per_epoch = equal_time_epochs(target, mae_runs)
    note = (f'MAE at equal wall time: {emae.label} took {target:.1f} s on '
            f'average ({len(emae_runs)} runs); MAE\'s {mae.epochs}-epoch '
            f'runs ({len(mae_runs)}) took {fixed:.1f} s fixed + '
            f'{per_epoch:.2f} s per epoch, so {epochs} epochs fit; warm-up '
            f'kept, cosine stretched to epoch {epochs}.')
    return Setting('mae-time', f'MAE, equal wall time ({epochs})',
                   mae.base, epochs), note


class Study:
    """The derived configs and the runs of one study (see the module)."""

    def __init__(self, args) -> None:
        self.args = args
        self.root = osp.abspath(args.work_dir)
        self.runs_root = osp.join(self.root, 'runs')
        self.configs: Dict[str, str] = {}
        self.failed: List[str] = []
        self.threads = int(os.environ.get('OMP_NUM_THREADS') or max(
            1, (os.cpu_count() or 1) // args.parallel))
        self.start = time.perf_counter()

    def write(self, setting: Setting) -> None:
        """Write the config of ``setting``."""
        path = config_path(setting, osp.join(self.root, 'configs'))
        os.makedirs(osp.dirname(path), exist_ok=True)
        atomic_write_text(path, derived_config(setting, self.args.stages))
        self.configs[setting.name] = path

    def run(self, jobs: Sequence[Tuple[Setting, int]], done: int,
            total: int) -> None:
        """Run (setting, seed) jobs in order, ``--parallel`` at a time
        (none with ``--report-only``).

        The pipeline's random-init baseline of a seed lives in one folder
        that every setting of that seed shares, so a job waits until the
        first job of its seed (which runs that baseline) has finished.
        """
        numbers = iter(range(done + 1, done + len(jobs) + 1))

        def one(job: Tuple[Setting, int], after: Optional[Future]) -> None:
            if after is not None:
                after.result()
            setting, seed = job
            number = next(numbers)
            log = osp.join(self.root, 'logs', f'{setting.name}_'
                           f'{setting.epochs}e_seed{seed}.log')
            print(f'[emae-study] run {number}/{total}: {setting.label}, seed '
                  f'{seed} ({self.elapsed()}; log {log})', flush=True)
            code = run_setting(self.configs[setting.name], seed,
                               self.args.stages, self.runs_root, log,
                               self.threads)
            if code:
                with open(log) as f:
                    tail = f.readlines()[-3:]
                self.failed.append(f'{setting.name} seed {seed}: '
                                   f'mimb-pipeline exited {code}; {log}: '
                                   + ' '.join(t.strip() for t in tail))
            print(f'[emae-study] run {number}/{total} '
                  f"{'FAILED' if code else 'done'} ({self.elapsed()})",
                  flush=True)

        if self.args.report_only:
            return
        first: Dict[int, Future] = {}
        with ThreadPoolExecutor(self.args.parallel) as pool:
            futures = []
            for job in jobs:  # FIFO: a seed's first job starts before
                futures.append(pool.submit(one, job, first.get(job[1])))
                first.setdefault(job[1], futures[-1])
            for future in futures:
                future.result()

    def elapsed(self) -> str:
        return f'{time.perf_counter() - self.start:.0f} s so far'


@cli_main('mimb-emae-study', PipelineError)
def main(argv=None) -> int:
    args = parse_args(argv)
    epochs = read_config(EMAE_SMOKE).train_cfg.max_epochs
    settings = expand_grid(args.weights, args.distances, epochs)
    study, seeds = Study(args), args.seeds
    for s in settings:
        study.write(s)
    total = (len(settings) + (not args.no_equal_time)) * len(seeds)
    print(f'[emae-study] {len(settings)} settings'
          f'{"" if args.no_equal_time else " + MAE at equal wall time"}'
          f' x {len(seeds)} seeds = {total} runs, {args.parallel} at a time '
          f'on {study.threads} thread(s) each; work dir {study.root}',
          flush=True)
    # The first setting for every seed first (so that each seed's
    # random-init baseline is there early), then seed-major: an interrupted
    # study has every setting's first seeds.
    study.run([(settings[0], seed) for seed in seeds] +
              [(s, seed) for seed in seeds for s in settings[1:]], 0, total)
    notes = [f'Seeds {seeds}; kNN and linear top-1 (%) as mean ± sample std '
             'over seeds; pretraining wall time from run_summary.json, '
             f'{args.parallel} run(s) at a time with OMP_NUM_THREADS='
             f'{study.threads}, on a {os.cpu_count()}-core machine shared '
             'with other work (its load moves them: see the std). Per-seed '
             f'numbers: {NAME}_runs.md.']
    if not args.no_equal_time:
        timed, note = equal_time_setting(settings, study.configs, seeds,
                                         study.runs_root)
        study.write(timed)
        settings.append(timed)
        notes.append(note)
        study.run([(timed, seed) for seed in seeds],
                  total - len(seeds), total)
    baseline = Setting(RANDOM_INIT, 'random init (untrained encoder, the '
                       "pipeline's baseline)", settings[0].base, 0)
    study.configs[RANDOM_INIT] = config_path(baseline, study.root)
    results = [collect(s, study.configs[s.name], seeds, study.runs_root)
               for s in settings + [baseline]]
    if len(results[-1][0]):
        settings.append(baseline)
    runs = pd.concat([r for r, _ in results], ignore_index=True)
    losses = pd.concat([c for _, c in results if len(c)],
                       ignore_index=True)
    table = build_table(settings, runs, losses)
    downstream = read_config(study.configs[settings[0].name]).mimb_downstream
    notes.append("Downstream configs (the smoke config's mimb_downstream): "
                 + ', '.join(f'{k} `{osp.relpath(v, REPO)}`'
                             for k, v in sorted(downstream.items())) + '.')
    command = sys.argv[1:] if argv is None else list(argv)
    notes.append('Command (reruns skip finished runs): `mimb-emae-study ' +
                 shlex.join(a for a in command if a != '--report-only') +
                 '`')
    markdown = to_markdown(table, notes)
    paths = write_tables(table, args.out, NAME, markdown)
    paths += write_tables(runs, args.out, f'{NAME}_runs',
                          runs.to_markdown(index=False) + '\n')
    paths.append(plot_losses(settings, losses,
                             osp.join(args.out, f'{NAME}_losses.png')))
    print(markdown, end='')
    print('[emae-study] wrote ' + ', '.join(paths))
    for line in study.failed:
        print(f'mimb-emae-study: error: {line}', file=sys.stderr)
    return 1 if study.failed else 0


if __name__ == '__main__':
    sys.exit(main())
