"""Training-safety and run-accounting hooks, registered in MMEngine.

* :class:`NonFiniteLossHook` stops a run with an error naming the iteration
  and the loss terms as soon as the loss is NaN or infinite.
* :class:`RNGStateHook` stores every rank's torch / numpy / python random
  states in every checkpoint and restores them on resume, so a resumed run
  draws the same masks and augmentations as an uninterrupted one.
* :class:`TimeBudgetHook` ends training at the first epoch boundary past a
  wall-clock budget (config key ``mimb_time_budget_s``), for comparisons of
  methods at equal pretraining time.
* :class:`RunSummaryHook` measures what a run cost (device type and count,
  wall time, device-hours, images/s, peak memory, iterations, epochs) and
  writes it with the final metrics and provenance to ``run_summary.json`` in
  the work directory, which the pipeline and the leaderboard read.
"""
import hashlib
import logging
import os.path as osp
import random
import resource
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import (all_gather_object, get_rank, get_world_size,
                           is_main_process)
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.registry import HOOKS

from .fileio import atomic_write_json

SUMMARY_FILE = 'run_summary.json'
PACKAGES = ('torch', 'torchvision', 'mmengine', 'mmcv', 'mmpretrain', 'mmdet',
            'mmseg', 'timm', 'numpy')


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` when a training loss is not finite.

    MMEngine keeps training on a NaN loss, which wastes the rest of a
    multi-day run. This hook checks every logged loss term after each
    iteration and stops with the iteration, epoch and values.
    """

    priority = 'HIGH'

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch=None, outputs: Optional[dict] = None):
        if not outputs:
            return
        values = {k: float(v.detach()) for k, v in outputs.items()
                  if 'loss' in k and torch.is_tensor(v)}
        bad = {k: v for k, v in values.items()
               if not torch.isfinite(torch.tensor(v))}
        if bad:
            raise NonFiniteLossError(
                f'non-finite loss at iteration {runner.iter + 1} (epoch '
                f'{runner.epoch + 1}) in {runner.work_dir}: {bad}; all loss '
                f'terms: {values}. Lower the learning rate, check the data, '
                'or enable gradient clipping.')


def rng_state() -> dict:
    """This process's torch / CUDA / numpy / python generator states as
    tensors and plain values (no numpy objects, so the restricted
    ``weights_only`` loader accepts them)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return dict(
        torch=torch.get_rng_state(),
        cuda=(torch.cuda.get_rng_state_all()
              if torch.cuda.is_available() else []),
        numpy=[kind, torch.from_numpy(keys.astype(np.int64)), int(pos),
               int(has_gauss), float(cached)],
        python=random.getstate())


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state['torch'])
    if state['cuda'] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])
    kind, keys, pos, has_gauss, cached = state['numpy']
    np.random.set_state(
        (kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    random.setstate(state['python'])


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save and restore every rank's random generators with the checkpoint.

    MMEngine 0.10 re-seeds at start-up but does not restore the generators
    on resume, so random masks and augmentations after a resume differ from
    those of an uninterrupted run. The checkpoint stores one state per rank
    (``rng_state``: a list indexed by rank; the recipes seed each rank
    differently, ``diff_rank_seed=True``), and each rank of a resumed run
    with the same number of processes gets its own back.

    Only rank 0 writes checkpoints, so the ranks' states are gathered at
    the end of every training epoch, before the checkpoint hook runs (hence
    priority ``LOW``). A checkpoint saved between epochs (iteration-based
    checkpointing on several processes) stores only rank 0's state; it and
    a resume on another number of processes restore rank 0's state on
    every rank and log that the streams are not exact.
    """

    priority = 'LOW'  # before CheckpointHook (VERY_LOW)
    KEY = 'rng_state'

    def __init__(self) -> None:
        self._gathered = None  # (iteration, [state of each rank])

    def after_train_epoch(self, runner) -> None:
        if get_world_size() > 1:
            self._gathered = (runner.iter, all_gather_object(rng_state()))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._gathered and self._gathered[0] == runner.iter:
            checkpoint[self.KEY] = self._gathered[1]
        else:
            checkpoint[self.KEY] = [rng_state()]

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        states = checkpoint.get(self.KEY)
        if states is None:
            return
        if isinstance(states, dict):  # earlier versions: one state
            states = [states]
        rank, world_size = get_rank(), get_world_size()
        if len(states) != world_size:
            print_log(f'{runner.work_dir}: the checkpoint holds the random '
                      f'generator states of {len(states)} process(es), this '
                      f'run has {world_size}: every rank continues from rank '
                      "0's state, so masks and augmentations differ from an "
                      'uninterrupted run', logger='current',
                      level=logging.WARNING)
            rank = 0
        set_rng_state(states[rank])


@HOOKS.register_module()
class TimeBudgetHook(Hook):
    """Stop training once ``runner.cfg.mimb_time_budget_s`` has passed.

    The check runs after each training epoch, after that epoch's checkpoint
    (so the last checkpoint is the final state). Without the config key (or
    with None) it does nothing.
    """

    priority = 'LOWEST'

    def before_train(self, runner) -> None:
        self.budget = runner.cfg.get('mimb_time_budget_s')
        if self.budget is not None and self.budget <= 0:
            raise ValueError(f'mimb_time_budget_s must be > 0, got '
                             f'{self.budget}')
        self._start = time.perf_counter()

    def after_train_epoch(self, runner) -> None:
        if self.budget is None:
            return
        elapsed = time.perf_counter() - self._start
        if elapsed >= self.budget:
            runner.logger.info(
                f'time budget {self.budget:.0f} s reached after '
                f'{elapsed:.1f} s, {runner.epoch + 1} epochs: stopping')
            runner.train_loop.stop_training = True


def package_versions(names: Sequence[str] = PACKAGES) -> Dict[str, str]:
    """Versions of the stack, without importing anything not yet imported."""
    from importlib.metadata import PackageNotFoundError, version
    dist = {'mmseg': 'mmsegmentation'}
    out = {}
    for name in names:
        try:
            out[name] = version(dist.get(name, name))
        except PackageNotFoundError:
            out[name] = None
    return out


def git_state(path: str) -> Dict[str, Optional[str]]:
    """Commit and dirtiness of the git checkout holding ``path``."""
    def run(*args):
        return subprocess.run(['git', '-C', path, *args], capture_output=True,
                              text=True, timeout=10).stdout.strip()
    try:
        commit = run('rev-parse', 'HEAD') or None
        dirty = bool(run('status', '--porcelain', '--untracked-files=no'))
    except (OSError, subprocess.SubprocessError):
        return dict(commit=None, dirty=None)
    return dict(commit=commit, dirty=dirty if commit else None)


def peak_memory_mb(device: str) -> float:
    """Peak memory of this process: CUDA allocator peak or CPU max RSS."""
    if device == 'cuda':
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@HOOKS.register_module()
class RunSummaryHook(Hook):
    """Write the run's cost, metrics and provenance to ``run_summary.json``.

    Images/s counts training images over the time spent in training epochs
    (validation excluded), summed over all ranks. Device-hours count every
    device of the run. Rank 0 writes; the file is replaced atomically, after
    every validation and at the end, so a killed run leaves a valid summary
    marked ``"finished": false``.

    Args:
        stage (str, optional): Name of the stage (``pretrain``,
            ``finetune``, ``linear``, ``knn``, ``det``, ``seg``). Defaults to
            None: the config's ``mimb_stage``, else 'train'.
        filename (str): File name inside the work directory.
            Defaults to ``run_summary.json``.
    """

    priority = 'VERY_LOW'

    def __init__(self, stage: Optional[str] = None,
                 filename: str = SUMMARY_FILE) -> None:
        self.stage = stage
        self.filename = filename
        self.metrics: Dict[str, float] = {}
        self.loss_curve = []
        self._epoch_losses = []
        self._images = 0
        self._train_time = 0.0

    def before_run(self, runner) -> None:
        self._start = time.perf_counter()
        self.device = 'cuda' if torch.cuda.is_available() else 'cpu'
        if self.device == 'cuda':
            torch.cuda.reset_peak_memory_stats()
        cfg = runner.cfg
        self.stage = self.stage or cfg.get('mimb_stage', 'train')
        # Static provenance, computed once (pretty_text formats the config).
        self._provenance = dict(
            config=cfg.filename,
            config_sha256=hashlib.sha256(
                cfg.pretty_text.encode()).hexdigest(),
            seed=runner.seed,
            started_at=datetime.now(timezone.utc).isoformat(),
            host=socket.gethostname(),
            python=sys.version.split()[0],
            work_dir=runner.work_dir,
            versions=package_versions(),
            **{f'git_{k}': v for k, v in git_state(
                osp.dirname(osp.abspath(__file__))).items()})

    def before_train_epoch(self, runner) -> None:
        self._epoch_start = time.perf_counter()
        self._epoch_losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if isinstance(data_batch, dict) and 'inputs' in data_batch:
            self._images += len(data_batch['inputs']) * get_world_size()
        if outputs and 'loss' in outputs:
            self._epoch_losses.append(float(outputs['loss'].detach()))

    def after_train_epoch(self, runner) -> None:
        self._train_time += time.perf_counter() - self._epoch_start
        if self._epoch_losses:
            self.loss_curve.append(
                [runner.epoch + 1,
                 sum(self._epoch_losses) / len(self._epoch_losses)])

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.metrics.update({k: float(v) for k, v in (metrics or {}).items()})
        self._write(runner, finished=False)

    def after_test_epoch(self, runner, metrics=None) -> None:
        self.metrics.update({k: float(v) for k, v in (metrics or {}).items()})

    def after_run(self, runner) -> None:
        self._write(runner, finished=True)

    def summary(self, runner, finished: bool) -> dict:
        """The summary dict as it would be written now."""
        wall = time.perf_counter() - self._start
        n_dev = get_world_size()
        last_ckpt = osp.join(runner.work_dir, 'last_checkpoint')
        checkpoint = (open(last_ckpt).read().strip()
                      if osp.isfile(last_ckpt) else
                      runner.cfg.get('load_from'))
        return dict(
            stage=self.stage,
            finished=finished,
            metrics=self.metrics,
            cost=dict(
                device=self.device,
                device_name=(torch.cuda.get_device_name()
                             if self.device == 'cuda' else 'cpu'),
                num_devices=n_dev,
                wall_time_s=wall,
                train_time_s=self._train_time,
                device_hours=wall * n_dev / 3600,
                images=self._images,
                images_per_s=(self._images / self._train_time
                              if self._train_time else None),
                peak_memory_mb=peak_memory_mb(self.device),
                peak_memory_kind=('cuda_max_allocated' if self.device ==
                                  'cuda' else 'cpu_max_rss'),
                iterations=runner.iter,
                epochs=runner.epoch,
            ),
            loss_curve=self.loss_curve,
            provenance=dict(
                self._provenance,
                checkpoint=checkpoint,
                written_at=datetime.now(timezone.utc).isoformat()),
        )

    def _write(self, runner, finished: bool) -> None:
        if is_main_process():
            atomic_write_json(
                osp.join(runner.work_dir, self.filename),
                self.summary(runner, finished))
