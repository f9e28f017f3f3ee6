"""One stage of a pipeline: its ``mim`` command, log, summary and checkpoint.

A stage is the plain OpenMMLab command a user would type
(:func:`stage_command`); :class:`StageRunner` runs the stages of one
pipeline (skipping those finished before, waiting for the stage each starts
from) for :mod:`benchmarks.pipeline` and the random-init rows of
:mod:`benchmarks.random_init`; the other benchmarks build their runs from
the same pieces.
"""
import glob
import json
import os
import os.path as osp
import re
import shlex
import socket
import subprocess
import sys
import time
from collections import deque
from concurrent.futures import Future
from typing import Deque, Dict, List, Optional, Sequence

from mmengine.config import Config

from backbones.engine.hooks import INIT_CHECKPOINT, SUMMARY_FILE
from benchmarks.errors import exception_lines

STAGES = ('pretrain', 'finetune', 'linear', 'knn', 'det', 'seg')
TEST_STAGES = ('knn', )
PACKAGE = dict(det='mmdet', seg='mmseg')  # the others: mmpretrain
# stages whose config takes the pretrained encoder through init_cfg
INIT_STAGES = ('finetune', 'linear', 'det', 'seg')
TINY_DATA = osp.join('data', 'tiny')
# what makes the pretraining config stop before its first iteration,
# having saved the weights it would start from (InitCheckpointHook)
INIT_ONLY_OPTIONS = ('train_cfg.max_epochs=0', 'mimb_save_init=True')
OUTPUT_KEPT = 400  # lines of a stage's output searched for its exception
TENSORBOARD_CONFIG = '''# mimb-pipeline --tensorboard: {config} + TensorBoard
_base_ = [{config!r}]
visualizer = dict(vis_backends=[
    dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend'),
])
'''


class PipelineError(RuntimeError):
    """A stage failed or its inputs are missing."""


def parse_config_name(path: str) -> Dict[str, str]:
    """Method, backbone and schedule from an OpenMMLab-style config name.

    ``mae_vit-base-p16_8xb512-amp-coslr-800e_in1k.py`` gives method
    ``mae``, backbone ``vit-base-p16``, schedule ``800e``, data ``in1k``.

    Raises:
        PipelineError: The name does not follow
            ``{algorithm}_{module}_{training}_{data}``.
    """
    stem = osp.splitext(osp.basename(path))[0]
    parts = stem.split('_')
    epochs = re.search(r'(\d+)e(?:-|$)', parts[2]) if len(parts) >= 4 else None
    if len(parts) < 4 or epochs is None:
        raise PipelineError(
            f'config name {stem!r} does not follow '
            '{algorithm}_{module}_{training with NNNe}_{data}, e.g. '
            'mae_vit-base-p16_8xb512-amp-coslr-800e_in1k.py')
    return dict(method=parts[0], backbone=parts[1],
                schedule=f'{epochs.group(1)}e', data=parts[3])


def relative_config(base_config: str, rel: str) -> str:
    """Resolve a config path given relative to another config's folder."""
    path = osp.normpath(osp.join(osp.dirname(base_config), rel))
    if not osp.isfile(path):
        raise PipelineError(f'{base_config} names {rel!r}, but {path} does '
                            'not exist')
    return path


def read_summary(work_dir: str) -> Optional[dict]:
    """The run summary of a stage, or None when absent or unreadable."""
    return read_summary_file(osp.join(work_dir, SUMMARY_FILE))


def read_summary_file(path: str) -> Optional[dict]:
    """A JSON summary file, or None when absent or unreadable."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def with_tensorboard(config: str, work_dir: str) -> str:
    """A config that inherits ``config`` and adds the TensorBoard backend.

    (``--cfg-options`` cannot express a list of dicts.)
    """
    path = osp.join(work_dir, 'tensorboard_' + osp.basename(config))
    os.makedirs(work_dir, exist_ok=True)
    with open(path, 'w') as f:
        f.write(TENSORBOARD_CONFIG.format(config=config))
    return path


def free_port() -> int:
    """A TCP port that is free on this machine now (for a launcher's
    rendezvous, so that stages running at once do not collide)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def stage_command(stage: str, config: str, work_dir: str,
                  checkpoint: Optional[str], args,
                  port: Optional[int] = None,
                  extra: Sequence[str] = ()) -> List[str]:
    """The ``mim`` command line of one stage.

    Args:
        stage (str): One of :data:`STAGES`.
        config (str): The stage's config.
        work_dir (str): Its work directory.
        checkpoint (str, optional): The encoder it starts from (None for
            pretraining).
        args: ``launcher``, ``gpus``, ``partition``, ``seed`` and
            ``tensorboard`` as :func:`parse_args` gives them.
        port (int, optional): Rendezvous port of a multi-process launcher.
            Defaults to None (mim picks one at random).
        extra (Sequence[str]): More ``--cfg-options`` (key=value).

    Returns:
        list[str]: The argv.
    """
    if args.tensorboard:
        config = with_tensorboard(config, work_dir)
    mode = 'test' if stage in TEST_STAGES else 'train'
    cmd = [sys.executable, '-m', 'mim', mode,
           PACKAGE.get(stage, 'mmpretrain'), config,
           '--work-dir', work_dir, '--launcher', args.launcher]
    if args.launcher != 'none':
        cmd += ['--gpus', str(args.gpus)]
        if port is not None:
            cmd += ['--port', str(port)]
    if args.launcher == 'slurm':
        cmd += ['--gpus-per-node', str(min(args.gpus, 8)),
                '--partition', args.partition, '--yes']
    if mode == 'test':
        cmd += ['--checkpoint', checkpoint]
    options = [f'randomness.seed={args.seed}']
    if stage in INIT_STAGES:
        options.append(f'model.backbone.init_cfg.checkpoint={checkpoint}')
    return cmd + ['--cfg-options'] + options + list(extra)


def run_logged(cmd: List[str], log_path: str, stage: str) -> float:
    """Run ``cmd``, echo its output with a stage prefix, save it to a log.

    On failure the tool's own exception (not mim's ``CalledProcessError``
    around it, see :func:`benchmarks.errors.exception_lines`) is appended
    to this log and to the MMEngine log the run wrote in the log's folder.

    Returns:
        float: Wall time in seconds.

    Raises:
        PipelineError: Non-zero exit; the message gives the log and ends
            with the exception (or the last lines of output).
    """
    start, started_at = time.perf_counter(), time.time()
    tail: Deque[str] = deque(maxlen=OUTPUT_KEPT)
    os.makedirs(osp.dirname(log_path), exist_ok=True)
    with open(log_path, 'w') as log:
        log.write('$ ' + shlex.join(cmd) + '\n')
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                bufsize=1)
        for line in proc.stdout:
            log.write(line)
            print(f'[{stage}] {line}', end='', flush=True)
            tail.append(line)
        code = proc.wait()
    if code != 0:
        error = '\n'.join(exception_lines(tail) or
                          [line.rstrip('\n') for line in tail][-15:])
        note = f'stage {stage} failed with exit code {code}:\n{error}\n'
        for path in [log_path, *mmengine_logs(osp.dirname(log_path),
                                              started_at)]:
            with open(path, 'a') as log:
                log.write(f'[mimb-pipeline] {note}')
        raise PipelineError(f'stage {stage} failed with exit code {code}; '
                            f'full log: {log_path}\n{error}')
    return time.perf_counter() - start


def mmengine_logs(work_dir: str, since: float) -> List[str]:
    """The ``<timestamp>/<timestamp>.log`` files MMEngine's runner wrote in
    ``work_dir`` since the time ``since`` (seconds since the epoch)."""
    return sorted(p for p in glob.glob(osp.join(work_dir, '*', '*.log'))
                  if osp.basename(p)[:-4] == osp.basename(osp.dirname(p))
                  and osp.getmtime(p) >= since - 1)


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint a finished training run left in ``work_dir``."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        raise PipelineError(f'no checkpoint in {work_dir} (missing '
                            f'{pointer}); did pretraining save one?')
    with open(pointer) as f:
        path = f.read().strip()
    if not osp.isfile(path):
        raise PipelineError(f'{pointer} points to {path}, which is missing')
    return path


def init_sources(cfg: Config, stages: List[str]) -> Dict[str, str]:
    """The stage whose checkpoint each transfer stage starts from.

    ``pretrain`` unless the pretraining config's ``mimb_init_from`` names
    another stage (e.g. ``dict(det='finetune')``: detection starts from the
    fine-tuned encoder), which must itself be a transfer stage that trains.

    Raises:
        PipelineError: An unknown stage, or a chain that is not a training
            stage.
    """
    init_from = dict(cfg.get('mimb_init_from') or {})
    bad = {k: v for k, v in init_from.items()
           if k not in INIT_STAGES or v not in ('pretrain', *INIT_STAGES)
           or v == k or init_from.get(v, 'pretrain') != 'pretrain'}
    if bad:
        raise PipelineError(
            f'mimb_init_from {init_from} of {cfg.filename}: {bad} is not '
            f'(one of {INIT_STAGES}) -> pretrain or a stage that starts '
            'from pretrain')
    return {s: init_from.get(s, 'pretrain') for s in stages
            if s != 'pretrain'}


class StageRunner:
    """Runs the stages of one pipeline and keeps what they produced.

    Each stage is a ``mim`` job with its own work directory and log; a
    transfer stage starts from the checkpoint of the stage
    :func:`init_sources` names, and waits for it when that stage runs in
    the same invocation. Used from several threads by ``--parallel``.
    """

    def __init__(self, args, config: str, downstream: dict,
                 work_root: str, sources: Dict[str, str],
                 init_only: bool = False) -> None:
        self.args = args
        self.config = config
        self.downstream = downstream
        self.work_root = work_root
        self.sources = sources
        self.init_only = init_only  # the random-init baseline's runner
        self.futures: Dict[str, Future] = {}
        self.ran: Dict[str, bool] = {}

    def start_checkpoint(self, stage: str) -> Optional[str]:
        """The checkpoint ``stage`` starts from (None for pretraining)."""
        if stage == 'pretrain':
            return None
        source = self.sources[stage]
        if source == 'pretrain' and self.init_only:
            path = osp.join(self.work_root, 'pretrain', INIT_CHECKPOINT)
            if not osp.isfile(path):
                raise PipelineError(f'the random-init weights {path} are '
                                    'missing; rerun with --force')
            return path
        if source == 'pretrain' and self.args.checkpoint:
            return self.args.checkpoint
        if source in self.futures:
            try:
                self.futures[source].result()
            except PipelineError as err:
                raise PipelineError(f'stage {stage} starts from {source}, '
                                    f'which failed') from err
        return last_checkpoint(osp.join(self.work_root, source))

    def stage_config(self, stage: str) -> str:
        """The config ``stage`` runs (its protocol, or the pretraining)."""
        return (self.config if stage == 'pretrain' else
                relative_config(self.config, self.downstream[stage]))

    def check_reuse(self, stages: Sequence[str], what: str = '') -> None:
        """Refuse to reuse a finished stage that another config ran (a rerun
        skips finished stages; without this check a changed protocol would
        silently keep the old numbers).

        Raises:
            PipelineError: A finished stage of ``stages`` records another
                config than this pipeline's (``what`` names the run).
        """
        if self.args.force:
            return
        for stage in stages:
            done = read_summary(osp.join(self.work_root, stage))
            expected = self.stage_config(stage)
            recorded = other_config(done, expected) if done and done.get(
                'finished') else None
            if recorded:
                raise PipelineError(
                    f'{self.work_root} holds the {what}{stage} stage run '
                    f"with {recorded}, but this pipeline's config is "
                    f'{expected}: pass --force to rerun it, or use another '
                    '--work-dir / --runs-root')

    def run(self, stage: str, number: str) -> dict:
        """Run (or skip, when finished before) one stage; its summary.

        Raises:
            PipelineError: The stage, or the one it starts from, failed.
        """
        args = self.args
        stage_cfg = self.stage_config(stage)
        work_dir = osp.join(self.work_root, stage)
        done = read_summary(work_dir)
        skip = bool(done and done.get('finished')) and not args.force
        extra: Sequence[str] = ()
        if stage == 'pretrain' and self.init_only:
            extra = INIT_ONLY_OPTIONS
            skip = skip and osp.isfile(osp.join(work_dir, INIT_CHECKPOINT))
        elif stage == 'pretrain' and args.random_init:
            # its start weights too, beside those of the random-init row
            extra = ('mimb_save_init=True', )
        checkpoint = self.start_checkpoint(stage)
        port = free_port() if args.launcher != 'none' else None
        cmd = stage_command(stage, stage_cfg, work_dir, checkpoint, args,
                            port, extra)
        print(f'[pipeline] stage {number} {stage}: {shlex.join(cmd)}',
              flush=True)
        if skip:
            print(f'[pipeline] {stage}: finished before, skipped '
                  '(--force reruns it)', flush=True)
        else:
            seconds = run_logged(cmd, osp.join(work_dir, 'stage.log'), stage)
            print(f'[pipeline] {stage} done in {seconds:.1f} s', flush=True)
            done = read_summary(work_dir)
            if done is None:
                raise PipelineError(
                    f'stage {stage} wrote no {SUMMARY_FILE} in {work_dir}: '
                    'does its config inherit configs/_base_/mimb_runtime.py?')
        self.ran[stage] = not skip
        return done


def other_config(summary: dict, config: str) -> Optional[str]:
    """The config a stage summary records, if it is not ``config`` (by
    file name; ``--tensorboard`` runs go through a ``tensorboard_`` copy);
    None when it is, or when the summary records none."""
    recorded = (summary.get('provenance') or {}).get('config')
    if not recorded:
        return None
    name = osp.basename(recorded)
    same = osp.basename(config) in (name, name[len('tensorboard_'):])
    return None if same else recorded
