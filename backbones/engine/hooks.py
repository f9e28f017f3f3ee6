"""Training-safety and run-accounting hooks, registered in MMEngine.

* :class:`NonFiniteLossHook` stops a run with an error naming the iteration
  and the loss terms as soon as the loss is NaN or infinite.
* :class:`RNGStateHook` stores every rank's torch / numpy / python random
  states in every checkpoint and restores them on resume, and re-seeds the
  data-loader workers at every epoch from (seed, rank, worker, epoch), so a
  resumed run draws the same masks and augmentations as an uninterrupted
  one, with worker processes (persistent or not) too.
* :class:`TimeBudgetHook` ends training at the first epoch boundary past a
  wall-clock budget (config key ``mimb_time_budget_s``), for comparisons of
  methods at equal pretraining time.
* :class:`InitCheckpointHook` saves the weights training starts from
  (``init.pth``, config key ``mimb_save_init``): the random-init baseline
  of the pipeline is exactly that point.
* :class:`RunSummaryHook` measures what a run cost (device type and count,
  wall time, device-hours, images/s, peak memory, iterations, epochs) and
  writes it with the final metrics and provenance to ``run_summary.json`` in
  the work directory, which the pipeline and the leaderboard read. Its
  accumulated history travels in every checkpoint, so a resumed run's
  summary covers the epochs before the interruption too.
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
from functools import partial
from typing import Callable, Dict, List, Optional, Sequence

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


def seed_generators(*entropy: int) -> None:
    """Seed torch, numpy and python's ``random`` of this process from a
    tuple of non-negative integers (mixed by numpy's ``SeedSequence``, so
    nearby tuples give unrelated streams)."""
    first, second = np.random.SeedSequence(entropy).generate_state(2)
    np.random.seed(int(first))
    random.seed(int(first))
    torch.manual_seed(int(second))


class _EpochSeededFetch:
    """A data-loader worker's batch fetch that first re-seeds the worker's
    generators whenever the training epoch (a shared-memory counter the main
    process sets) has changed since the previous batch.

    Installed as the worker's ``dataset.__getitems__``, which PyTorch's
    batched fetcher calls with a batch's indices.
    """

    def __init__(self, dataset, epoch: torch.Tensor, seed: int, rank: int,
                 worker_id: int) -> None:
        self.dataset = dataset
        self.fetch = getattr(dataset, '__getitems__', None)
        self.epoch = epoch
        self.entropy = (seed, rank, worker_id)
        self.seeded_for = None

    def __call__(self, indices: Sequence[int]) -> list:
        epoch = int(self.epoch)
        if epoch != self.seeded_for:
            seed_generators(*self.entropy, epoch)
            self.seeded_for = epoch
        if self.fetch is not None:
            return self.fetch(indices)
        return [self.dataset[i] for i in indices]


def init_epoch_seeded_worker(worker_id: int, init_fn: Optional[Callable],
                             epoch: torch.Tensor, seed: int,
                             rank: int) -> None:
    """Data-loader ``worker_init_fn``: run the loader's own one (MMEngine's
    seeds each worker once, from seed, rank and worker id), then make the
    worker re-seed at the first batch of every epoch
    (:class:`_EpochSeededFetch`)."""
    if init_fn is not None:
        init_fn(worker_id)
    dataset = torch.utils.data.get_worker_info().dataset
    dataset.__getitems__ = _EpochSeededFetch(dataset, epoch, seed, rank,
                                             worker_id)


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

    Data-loader workers have their own generators, which the checkpoint
    cannot hold: MMEngine's ``worker_init_fn`` seeds each worker once, from
    seed, rank and worker id, and persistent workers
    (``persistent_workers=True``) then carry their streams from epoch to
    epoch, so the workers of a resumed run, started afresh, drew other
    augmentations. Before training this hook therefore wraps the training
    loader's ``worker_init_fn`` (:func:`init_epoch_seeded_worker`): every
    worker re-seeds at the first batch of each epoch from (seed, rank,
    worker id, epoch), the epoch reaching it through a shared-memory counter
    set before each epoch; the sampler already reshuffles from (seed,
    epoch) through ``set_epoch``. Without persistent workers this also gives
    each epoch its own augmentation streams (MMEngine repeats epoch 1's).
    The loader also gets its own ``generator``: creating its iterator (each
    epoch, or once with persistent workers) draws the workers' base seed,
    which would otherwise advance the global torch generator that draws
    the masks, one draw more in a resumed run than in an uninterrupted one.
    The counter follows ``runner.epoch``, so an iteration-based loop (one
    epoch) seeds its workers once.
    """

    priority = 'LOW'  # before CheckpointHook (VERY_LOW)
    KEY = 'rng_state'

    def __init__(self) -> None:
        self._gathered = None  # (iteration, [state of each rank])
        self._epoch = None  # shared with the training loader's workers

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        if loader.generator is None:
            loader.generator = torch.Generator()
        if loader.num_workers > 0:
            self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()
            loader.worker_init_fn = partial(
                init_epoch_seeded_worker, init_fn=loader.worker_init_fn,
                epoch=self._epoch, seed=runner.seed, rank=get_rank())

    def before_train_epoch(self, runner) -> None:
        if self._epoch is not None:
            self._epoch.fill_(runner.epoch)

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


INIT_CHECKPOINT = 'init.pth'


@HOOKS.register_module()
class InitCheckpointHook(Hook):
    """Save the model as training starts, when ``runner.cfg.mimb_save_init``.

    ``before_train`` runs after the runner initialised the weights (seeded
    by ``randomness.seed``) and before the first iteration, so
    ``<work_dir>/init.pth`` holds exactly the weights the run starts from.
    With ``train_cfg.max_epochs=0`` the run ends there: this is how the
    pipeline makes its random-init baseline. Not written on a resumed run.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        if not runner.cfg.get('mimb_save_init') or runner.iter != 0:
            return
        runner.save_checkpoint(runner.work_dir, INIT_CHECKPOINT,
                               save_optimizer=False,
                               save_param_scheduler=False)
        runner.logger.info('weights at the start of training saved to '
                           f'{osp.join(runner.work_dir, INIT_CHECKPOINT)}')


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


# Stages whose runs end with metrics; pretraining evaluates nothing.
EVALUATED_STAGES = ('finetune', 'linear', 'knn', 'det', 'seg')


def metric_names(evaluator) -> List[str]:
    """The names of what an MMEngine evaluator computes: ``prefix/name`` for
    each entry of a metric's ``metrics`` list (``CocoMetric``: ``coco/bbox``,
    ``coco/segm``; ``IoUMetric``: ``mIoU``), else the metric's prefix
    (``accuracy``) or class name."""
    names = []
    for metric in getattr(evaluator, 'metrics', None) or []:
        prefix = getattr(metric, 'prefix', None)
        subs = getattr(metric, 'metrics', None)
        subs = [subs] if isinstance(subs, str) else subs
        if (isinstance(subs, (list, tuple)) and subs
                and all(isinstance(sub, str) for sub in subs)):
            names += [f'{prefix}/{sub}' if prefix else sub for sub in subs]
        else:
            names.append(prefix or type(metric).__name__)
    return names


@HOOKS.register_module()
class RunSummaryHook(Hook):
    """Write the run's cost, metrics and provenance to ``run_summary.json``.

    Images/s counts training images over the time spent in training epochs
    (validation excluded), summed over all ranks. Device-hours count every
    device of the run. Rank 0 writes; the file is replaced atomically, after
    every validation and at the end, so a killed run leaves a valid summary
    marked ``"finished": false``.

    A finished run's summary has ``metrics_missing``, a list of strings:
    empty, unless the run ended without any metric although it evaluated
    (then the evaluators' metric names, :func:`metric_names`, e.g.
    ``['coco/bbox', 'coco/segm']``) or its stage is one of
    ``EVALUATED_STAGES`` (then ``['*']``: nothing is known about the names).
    Unfinished summaries do not have the key.

    Resume: every checkpoint carries the summary's history under
    ``run_summary`` (images, training time, wall time, device-hours and
    peak memory so far, the loss curve, the metrics, the start time, the
    earlier resumes, and the losses of an epoch that the checkpoint
    interrupted). A resumed run continues from it, so its summary covers
    every epoch; wall time and device-hours add up the parts, and
    ``resumed_from`` lists each resume: ``epoch`` and ``iteration`` (done
    at the checkpoint), the wall time before it and the time of the resume.
    The work between that checkpoint and the interruption was lost and is
    not counted. Loading weights without resuming (``load_from``, a test
    run) leaves the summary alone.

    Args:
        stage (str, optional): Name of the stage (``pretrain``,
            ``finetune``, ``linear``, ``knn``, ``det``, ``seg``). Defaults to
            None: the config's ``mimb_stage``, else 'train'.
        filename (str): File name inside the work directory.
            Defaults to ``run_summary.json``.
    """

    # After a training iteration or epoch, count it before CheckpointHook
    # (VERY_LOW) saves it.
    priority = 'LOW'
    KEY = 'run_summary'

    def __init__(self, stage: Optional[str] = None,
                 filename: str = SUMMARY_FILE) -> None:
        self.stage = stage
        self.filename = filename
        self.metrics: Dict[str, float] = {}
        self.loss_curve = []
        self.resumed_from = []
        self._epoch_losses = []
        self._epoch_start = None
        self._images = 0
        self._train_time = 0.0
        self._evaluated = []  # metric names of the evaluations that ran
        # cost of the earlier parts of a resumed run
        self._before = dict(wall_time_s=0.0, device_hours=0.0,
                            peak_memory_mb=0.0)
        self._loaded = None  # a checkpoint's history, until resume is known
        self._open_epoch = None  # the losses of an interrupted epoch

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

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded = checkpoint.get(self.KEY)

    def before_train(self, runner) -> None:
        """Continue the loaded history if the run resumed (the train loop
        starts past iteration 0)."""
        state, self._loaded = self._loaded, None
        if state is None or runner.iter == 0:
            return
        self._images = state['images']
        self._train_time = state['train_time_s']
        self._open_epoch = state['open_epoch']
        self.loss_curve = [list(point) for point in state['loss_curve']]
        self.metrics = dict(state['metrics'])
        self._evaluated = list(state['evaluated'])
        self._before = {key: state[key] for key in self._before}
        self._provenance['started_at'] = state['started_at']
        self.resumed_from = state['resumed_from'] + [dict(
            epoch=runner.epoch, iteration=runner.iter,
            wall_time_s=state['wall_time_s'],
            at=datetime.now(timezone.utc).isoformat())]
        print_log(f'{runner.work_dir}: run summary continues from epoch '
                  f'{runner.epoch}, iteration {runner.iter} '
                  f'({self._images} images, {state["wall_time_s"]:.1f} s '
                  'before the resume)', logger='current')

    def before_train_epoch(self, runner) -> None:
        self._epoch_start = time.perf_counter()
        self._epoch_losses = []
        carried, self._open_epoch = self._open_epoch, None
        if carried and carried['epoch'] == runner.epoch:
            self._epoch_start -= carried['train_time_s']
            self._epoch_losses = list(carried['losses'])

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if isinstance(data_batch, dict) and 'inputs' in data_batch:
            self._images += len(data_batch['inputs']) * get_world_size()
        if outputs and 'loss' in outputs:
            self._epoch_losses.append(float(outputs['loss'].detach()))

    def after_train_epoch(self, runner) -> None:
        self._train_time += time.perf_counter() - self._epoch_start
        self._epoch_start = None
        if self._epoch_losses:
            self.loss_curve.append(
                [runner.epoch + 1,
                 sum(self._epoch_losses) / len(self._epoch_losses)])
        self._epoch_losses = []

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        now = time.perf_counter()
        open_epoch = None
        if self._epoch_start is not None:  # saved within an epoch
            open_epoch = dict(epoch=runner.epoch,
                              losses=list(self._epoch_losses),
                              train_time_s=now - self._epoch_start)
        checkpoint[self.KEY] = dict(
            images=self._images,
            train_time_s=self._train_time,
            open_epoch=open_epoch,
            loss_curve=[list(point) for point in self.loss_curve],
            metrics=dict(self.metrics),
            evaluated=list(self._evaluated),
            started_at=self._provenance['started_at'],
            resumed_from=list(self.resumed_from),
            **self._cost_so_far(now))

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._record(runner.val_loop, metrics)
        self._write(runner, finished=False)

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._record(runner.test_loop, metrics)

    def after_run(self, runner) -> None:
        self._write(runner, finished=True)

    def _record(self, loop, metrics: Optional[dict]) -> None:
        """Keep an evaluation's metrics and the names it was asked for."""
        for name in metric_names(getattr(loop, 'evaluator', None)):
            if name not in self._evaluated:
                self._evaluated.append(name)
        self.metrics.update({k: float(v) for k, v in (metrics or {}).items()})

    def missing_metrics(self) -> List[str]:
        """``metrics_missing`` of a finished run (see the class)."""
        if self.metrics:
            return []
        if self._evaluated:
            return list(self._evaluated)
        return ['*'] if self.stage in EVALUATED_STAGES else []

    def _cost_so_far(self, now: float) -> dict:
        """Wall time, device-hours and peak memory of all parts so far."""
        part = now - self._start
        return dict(
            wall_time_s=self._before['wall_time_s'] + part,
            device_hours=(self._before['device_hours'] +
                          part * get_world_size() / 3600),
            peak_memory_mb=max(self._before['peak_memory_mb'],
                               peak_memory_mb(self.device)))

    def summary(self, runner, finished: bool) -> dict:
        """The summary dict as it would be written now."""
        so_far = self._cost_so_far(time.perf_counter())
        last_ckpt = osp.join(runner.work_dir, 'last_checkpoint')
        checkpoint = (open(last_ckpt).read().strip()
                      if osp.isfile(last_ckpt) else
                      runner.cfg.get('load_from'))
        out = dict(stage=self.stage, finished=finished, metrics=self.metrics)
        if finished:
            out['metrics_missing'] = self.missing_metrics()
        out.update(
            cost=dict(
                device=self.device,
                device_name=(torch.cuda.get_device_name()
                             if self.device == 'cuda' else 'cpu'),
                num_devices=get_world_size(),
                wall_time_s=so_far['wall_time_s'],
                train_time_s=self._train_time,
                device_hours=so_far['device_hours'],
                images=self._images,
                images_per_s=(self._images / self._train_time
                              if self._train_time else None),
                peak_memory_mb=so_far['peak_memory_mb'],
                peak_memory_kind=('cuda_max_allocated' if self.device ==
                                  'cuda' else 'cpu_max_rss'),
                iterations=runner.iter,
                epochs=runner.epoch,
            ),
            loss_curve=self.loss_curve,
            resumed_from=self.resumed_from,
            provenance=dict(
                self._provenance,
                checkpoint=checkpoint,
                written_at=datetime.now(timezone.utc).isoformat()))
        return out

    def _write(self, runner, finished: bool) -> None:
        if is_main_process():
            atomic_write_json(
                osp.join(runner.work_dir, self.filename),
                self.summary(runner, finished))
