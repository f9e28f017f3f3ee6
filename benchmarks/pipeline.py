"""Pretrain an encoder, transfer it with its family's protocols, rank it.

``mimb-pipeline CONFIG`` runs, each as the plain OpenMMLab command a user
would type (so every stage can be rerun by hand from the printed line):

1. ``pretrain``: ``mim train mmpretrain CONFIG``;
2. ``finetune`` / ``linear``: ``mim train mmpretrain <protocol config>
   --cfg-options model.backbone.init_cfg.checkpoint=<pretrain checkpoint>``;
3. ``knn``: ``mim test mmpretrain <knn config> --checkpoint <checkpoint>``;
4. ``det`` / ``seg``: ``mim train mmdet|mmseg <protocol config>
   --cfg-options model.backbone.init_cfg.checkpoint=<checkpoint>`` (COCO
   Mask R-CNN box/mask AP from pycocotools, ADE20K UperNet mIoU);

after pretraining, ``mimb-recon`` draws what the checkpoint reconstructs
into ``reconstruction.png`` beside that stage's summary. The pipeline then
gathers each stage's ``run_summary.json`` (metrics and cost) into
``<work-dir>/pipeline_summary.json`` and rebuilds the leaderboard under
``results/`` from every pipeline summary below ``--runs-root``.

The protocols come from the pretraining config's ``mimb_downstream`` dict;
``--smoke`` switches to the config's ``mimb_smoke`` variant and generates the
tiny data sets first (``mimb-data``) in ``data/tiny`` under the working
directory, where the smoke configs read them (as real configs read
``data/imagenet``). A stage whose summary says it finished
is skipped on a rerun (``--force`` reruns it); an interrupted pretraining
resumes from its last checkpoint.

``--launcher pytorch --gpus N`` runs every stage as N processes (N GPUs, or
N CPU processes on gloo where there is no CUDA, see
:mod:`backbones.cpu_dist`); ``--launcher slurm`` submits each stage with
srun. ``--parallel N`` runs up to N transfer stages at once after
pretraining; a stage that starts from another's checkpoint (the config's
``mimb_init_from``, e.g. dense stages from the fine-tuned encoder) waits for
it, and a failing stage does not stop the others: every failure is reported
at the end and the exit code is 1.

``--random-init`` (on by default with ``--smoke``) also runs the transfer
stages from the untrained encoder: the pretraining config run for 0 epochs
with the same seed saves exactly the weights pretraining starts from
(:class:`backbones.hooks.InitCheckpointHook`), into
``<runs-root>/random-init_<backbone>_0e_seed<N>``, whose pipeline summary
gives the leaderboard its ``random-init`` row. Methods on the same backbone
share that folder: its finished stages are reused. ``--seeds 0 1 2`` runs
everything once per seed.
"""
import argparse
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
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Deque, Dict, List, Optional, Sequence

from mmengine.config import Config

from backbones.compat import check_checkpoint_file
from backbones.fileio import atomic_write_json
from backbones.hooks import INIT_CHECKPOINT, SUMMARY_FILE
from backbones.reconstruction import RECON_FILE
from benchmarks.comparisons import RANDOM_INIT
from benchmarks.errors import cli_main, exception_lines, read_config
from benchmarks.leaderboard import (PIPELINE_SUMMARY, build_leaderboard,
                                    write_leaderboard)
from benchmarks.summary_checks import stage_metrics_missing

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


def draw_reconstruction(config: str, work_dir: str, redraw: bool,
                        seed: int) -> str:
    """Run ``mimb-recon`` on the last checkpoint of a pretraining stage.

    The picture is kept when it exists, unless ``redraw`` (the stage ran
    again, or ``--force``).

    Returns:
        str: Path of the picture.
    """
    out = osp.join(work_dir, RECON_FILE)
    if osp.isfile(out) and not redraw:
        print(f'[pipeline] {RECON_FILE}: drawn before, kept')
        return out
    cmd = [sys.executable, '-m', 'benchmarks.recon', config,
           last_checkpoint(work_dir), '--out', out, '--seed', str(seed)]
    print(f'[pipeline] reconstruction picture: {shlex.join(cmd)}',
          flush=True)
    run_logged(cmd, osp.join(work_dir, 'recon.log'), 'recon')
    return out


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

    def run(self, stage: str, number: str) -> dict:
        """Run (or skip, when finished before) one stage; its summary.

        Raises:
            PipelineError: The stage, or the one it starts from, failed.
        """
        args = self.args
        stage_cfg = (self.config if stage == 'pretrain' else
                     relative_config(self.config, self.downstream[stage]))
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


def same_protocol(summary: dict, config: str) -> bool:
    """Whether a stage summary was written by a run of ``config`` (by
    file name; ``--tensorboard`` runs go through a ``tensorboard_`` copy)."""
    recorded = (summary.get('provenance') or {}).get('config') or ''
    name = osp.basename(recorded)
    return osp.basename(config) in (name, name[len('tensorboard_'):])


def random_init_runner(args, config: str, cfg: Config, names: dict,
                       transfer: List[str]) -> StageRunner:
    """The runner of the random-init baseline of ``config``'s backbone.

    Its folder ``<runs-root>/random-init_<backbone>_0e_seed<N>`` is shared
    by every method on that backbone: a stage finished there before is
    reused, if the same protocol config ran it.

    Raises:
        PipelineError: A finished stage there ran another protocol config.
    """
    work_root = osp.abspath(osp.join(
        args.runs_root, f"{RANDOM_INIT}_{names['backbone']}_0e_seed"
        f'{args.seed}'))
    downstream = cfg.get('mimb_downstream') or {}
    for stage in transfer:
        done = read_summary(osp.join(work_root, stage))
        expected = relative_config(config, downstream[stage])
        if (done and done.get('finished') and not args.force
                and not same_protocol(done, expected)):
            raise PipelineError(
                f'{work_root} holds the random-init {stage} stage of '
                f"backbone {names['backbone']} run with "
                f"{(done.get('provenance') or {}).get('config')}, but this "
                f"pipeline's protocol is {expected}: pass --force to rerun "
                'it, or use another --runs-root')
    return StageRunner(args, config, downstream, work_root,
                       init_sources(cfg, ['pretrain', *transfer]),
                       init_only=True)


def random_init_summary(runner: StageRunner, names: dict,
                        summary: dict) -> dict:
    """The pipeline summary of a random-init run (its own leaderboard
    row: method ``random-init``, schedule ``0e``).

    The folder is shared: stages that another method's pipeline finished
    there (e.g. its det and seg, where this one ran classification only)
    stay in the summary, with the sources they started from.
    """
    init = osp.join(runner.work_root, 'pretrain')
    pre = read_summary(init) or {}
    before = read_summary_file(osp.join(runner.work_root,
                                        PIPELINE_SUMMARY)) or {}
    stages, sources = dict(summary['stages']), dict(runner.sources)
    for stage in STAGES:
        done = read_summary(osp.join(runner.work_root, stage))
        if stage not in stages and done and done.get('finished'):
            stages[stage] = done
            if stage in (before.get('init_from') or {}):
                sources.setdefault(stage, before['init_from'][stage])
    return dict(
        method=RANDOM_INIT, backbone=names['backbone'], schedule='0e',
        data=names['data'], seed=runner.args.seed, smoke=runner.args.smoke,
        variant=None, work_dir=runner.work_root,
        pretrain_config=(pre.get('provenance') or {}).get('config'),
        pretrain_checkpoint=osp.join(init, INIT_CHECKPOINT),
        init_from=sources, stages={s: stages[s] for s in STAGES
                                   if s in stages},
        failed=summary['failed'])


def run_pipeline(args) -> dict:
    """Run the stages; returns the pipeline summary (also written).

    Pretraining runs first; the transfer stages then run up to
    ``args.parallel`` at a time. A failing transfer stage does not stop the
    others: the summary lists it under ``failed``.

    Raises:
        PipelineError: Bad inputs, or pretraining failed.
    """
    config = osp.abspath(args.config)
    if not osp.isfile(config):
        raise PipelineError(f'config {args.config} does not exist')
    if args.checkpoint:
        check_checkpoint_file(args.checkpoint)
    cfg = read_config(config)
    if args.smoke:
        if cfg.get('mimb_smoke'):
            config = relative_config(config, cfg.mimb_smoke)
            cfg = read_config(config)
        from benchmarks.tiny_data import generate
        if not osp.isdir(osp.join(TINY_DATA, 'imagenet')):
            print(f'[data] generating the tiny data sets in {TINY_DATA}')
            generate(TINY_DATA)
    downstream = cfg.get('mimb_downstream') or {}
    names = parse_config_name(config)
    run_name = f"{names['method']}_{names['backbone']}_{names['schedule']}" \
               f"_seed{args.seed}"
    work_root = osp.abspath(args.work_dir or
                            osp.join(args.runs_root, run_name))
    os.makedirs(work_root, exist_ok=True)
    stages = [s for s in STAGES if s in args.stages]
    missing = [s for s in stages if s != 'pretrain' and s not in downstream]
    if missing:
        raise PipelineError(f'{config} has no mimb_downstream entry for '
                            f'{missing}; it has {sorted(downstream)}')
    runner = StageRunner(args, config, downstream, work_root,
                         init_sources(cfg, stages))
    summary = dict(**names, seed=args.seed, smoke=args.smoke,
                   variant=cfg.get('mimb_variant'), pretrain_config=config,
                   work_dir=work_root, stages={}, failed={})
    summary['init_from'] = runner.sources
    transfer = [s for s in stages if s != 'pretrain']
    baseline = (random_init_runner(args, config, cfg, names, transfer)
                if args.random_init and transfer else None)
    total = len(stages)
    if 'pretrain' in stages:
        summary['stages']['pretrain'] = runner.run('pretrain', f'1/{total}')
        draw_reconstruction(config, osp.join(work_root, 'pretrain'),
                            runner.ran['pretrain'], args.seed)
    runners = [(runner, summary, '')]
    if baseline is not None:
        base = dict(stages={}, failed={})
        base['stages']['pretrain'] = baseline.run('pretrain',
                                                  '(start weights)')
        runners.append((baseline, base, f'{RANDOM_INIT} '))
        summary['random_init'] = baseline.work_root
    # Submission order is STAGES order, so a stage's source was submitted
    # (and started) before it: waiting on it cannot starve the pool.
    with ThreadPoolExecutor(max_workers=args.parallel) as pool:
        for run, _, prefix in runners:
            for stage in transfer:
                run.futures[stage] = pool.submit(
                    run.run, stage,
                    f'{prefix}{stages.index(stage) + 1}/{total}')
    for run, out, prefix in runners:
        for stage in transfer:
            try:
                out['stages'][stage] = run.futures[stage].result()
            except PipelineError as err:
                out['failed'][stage] = str(err)
                if run is baseline:
                    summary['failed'][f'{RANDOM_INIT}/{stage}'] = str(err)
    if baseline is not None:
        atomic_write_json(osp.join(baseline.work_root, PIPELINE_SUMMARY),
                          random_init_summary(baseline, names, base))
    pointer = osp.join(work_root, 'pretrain', 'last_checkpoint')
    summary['pretrain_checkpoint'] = args.checkpoint or (
        last_checkpoint(osp.dirname(pointer)) if osp.isfile(pointer) else
        None)
    atomic_write_json(osp.join(work_root, PIPELINE_SUMMARY), summary)
    return summary


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='mimb-pipeline', description=__doc__.split('\n\n')[0],
        epilog='Example: mimb-pipeline configs/mae/'
        'mae_vit-base-p16_8xb512-amp-coslr-800e_in1k.py --smoke',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('config', help='pretraining config')
    parser.add_argument('--smoke', action='store_true',
                        help="use the config's smoke variant on the tiny "
                        'data (generated if missing)')
    parser.add_argument('--stages', nargs='+', default=list(STAGES),
                        choices=STAGES, help='stages to run, in order')
    parser.add_argument('--checkpoint', help='use this pretrained checkpoint '
                        'instead of the pretrain stage')
    parser.add_argument('--work-dir', help='folder of this run (default: '
                        '<runs-root>/<method>_<backbone>_<schedule>_seed<N>)')
    parser.add_argument('--runs-root', default='work_dirs/pipeline',
                        help='where runs live; the leaderboard reads them all')
    parser.add_argument('--results', default='results',
                        help='leaderboard output folder')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0],
                        metavar='SEED', help='run everything once per seed '
                        '(the leaderboard shows mean ± std and which '
                        'differences exceed the spread)')
    parser.add_argument('--seed', type=int, dest='seeds',
                        action=_OneSeed, help='same as --seeds SEED')
    parser.add_argument('--random-init', action=argparse.BooleanOptionalAction,
                        default=None, help='also evaluate the untrained '
                        'encoder (the weights pretraining starts from) '
                        'through the same transfer stages, once per backbone '
                        'and seed (default: on with --smoke)')
    parser.add_argument('--launcher', default='none',
                        choices=('none', 'pytorch', 'slurm'))
    parser.add_argument('--gpus', type=int, default=8,
                        help='processes per stage with --launcher '
                        'pytorch/slurm: one per GPU, or on a machine '
                        'without CUDA that many CPU processes (gloo)')
    parser.add_argument('--parallel', type=int, default=1, metavar='N',
                        help='run up to N transfer stages at once after '
                        'pretraining, each its own mim job (own srun job on '
                        'slurm) with its own log')
    parser.add_argument('--partition', help='slurm partition')
    parser.add_argument('--tensorboard', action='store_true',
                        help='also log every stage to TensorBoard '
                        '(<stage work dir>/<timestamp>/vis_data)')
    parser.add_argument('--force', action='store_true',
                        help='rerun stages that finished before')
    args = parser.parse_args(argv)
    if args.launcher == 'slurm' and not args.partition:
        parser.error('--launcher slurm needs --partition')
    if args.parallel < 1:
        parser.error(f'--parallel must be >= 1, got {args.parallel}')
    if args.gpus < 1:
        parser.error(f'--gpus must be >= 1, got {args.gpus}')
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f'--seeds has repeated values: {args.seeds}')
    if args.random_init is None:
        args.random_init = args.smoke
    args.seed = args.seeds[0]  # the seed run_pipeline runs (main sets each)
    return args


class _OneSeed(argparse.Action):
    """``--seed N``: the one-element form of ``--seeds``."""

    def __call__(self, parser, namespace, value, option_string=None):
        setattr(namespace, self.dest, [value])


@cli_main('mimb-pipeline', PipelineError)
def main(argv=None) -> int:
    args = parse_args(argv)
    summaries = []
    for seed in args.seeds:
        args.seed = seed
        if len(args.seeds) > 1:
            print(f'[pipeline] seed {seed} ({args.seeds.index(seed) + 1} '
                  f'of {len(args.seeds)})', flush=True)
        summaries.append(run_pipeline(args))
    runs = build_leaderboard([args.runs_root] +
                             [s['work_dir'] for s in summaries])
    paths = write_leaderboard(runs, args.results)
    failed = False
    for summary in summaries:
        print(f'[pipeline] summary: '
              f"{osp.join(summary['work_dir'], PIPELINE_SUMMARY)}")
        for stage, done in summary['stages'].items():
            missing = stage_metrics_missing(done)  # pretraining: none
            if missing is not None and stage != 'pretrain':
                names = f' ({", ".join(missing)})' if missing else ''
                print(f'mimb-pipeline: warning: stage {stage} finished '
                      f'without metrics{names}; the leaderboard shows them '
                      'as missing', file=sys.stderr)
        for stage, message in summary['failed'].items():
            print(f'mimb-pipeline: error: {message}', file=sys.stderr)
        failed = failed or bool(summary['failed'])
    print('[pipeline] leaderboard: ' + ', '.join(paths))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
