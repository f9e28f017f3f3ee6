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
is skipped on a rerun (``--force`` reruns it), unless its summary records
another config than the one it would run now: then the pipeline stops
before running anything and names both. An interrupted pretraining resumes
from its last checkpoint.

``--launcher pytorch --gpus N`` runs every stage as N processes (N GPUs, or
N CPU processes on gloo where there is no CUDA, see
:mod:`backbones.engine.cpu_dist`); ``--launcher slurm`` submits each stage with
srun. ``--parallel N`` runs up to N transfer stages at once after
pretraining; a stage that starts from another's checkpoint (the config's
``mimb_init_from``, e.g. dense stages from the fine-tuned encoder) waits for
it, and a failing stage does not stop the others: every failure is reported
at the end and the exit code is 1.

``--random-init`` (on by default with ``--smoke``) also runs the transfer
stages from the untrained encoder: the pretraining config run for 0 epochs
with the same seed saves exactly the weights pretraining starts from
(:class:`backbones.engine.hooks.InitCheckpointHook`), into
``<runs-root>/random-init_<backbone>_0e_seed<N>``, whose pipeline summary
gives the leaderboard its ``random-init`` row. Methods on the same backbone
share that folder: its finished stages are reused. By default it runs the
classification stages only (``--random-init-stages``; the dense stages
would double a smoke run's time); ``--random-init-stages all`` adds det and
seg. ``--seeds 0 1 2`` runs everything once per seed.
"""
import argparse
import os
import os.path as osp
import shlex
import sys
from concurrent.futures import ThreadPoolExecutor

from backbones.engine.compat import check_checkpoint_file
from backbones.engine.fileio import atomic_write_json
from backbones.tools.reconstruction import RECON_FILE
from benchmarks.comparisons import RANDOM_INIT
from benchmarks.errors import cli_main, read_config
from benchmarks.leaderboard import (PIPELINE_SUMMARY, build_leaderboard,
                                    write_leaderboard)
from benchmarks.random_init import (RANDOM_INIT_STAGES, random_init_runner,
                                    random_init_stages, random_init_summary)
from benchmarks.stages import (STAGES, TINY_DATA, PipelineError, StageRunner,
                               init_sources, last_checkpoint,
                               parse_config_name, relative_config, run_logged)
from benchmarks.summary_checks import stage_metrics_missing


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
    runner.check_reuse(stages)
    summary = dict(**names, seed=args.seed, smoke=args.smoke,
                   variant=cfg.get('mimb_variant'), pretrain_config=config,
                   work_dir=work_root, stages={}, failed={})
    summary['init_from'] = runner.sources
    transfer = [s for s in stages if s != 'pretrain']
    base_stages = (random_init_stages(cfg, transfer, args.random_init_stages)
                   if args.random_init else [])
    baseline = (random_init_runner(args, config, cfg, names, base_stages)
                if base_stages else None)
    total = len(stages)
    if 'pretrain' in stages:
        summary['stages']['pretrain'] = runner.run('pretrain', f'1/{total}')
        draw_reconstruction(config, osp.join(work_root, 'pretrain'),
                            runner.ran['pretrain'], args.seed)
    # (runner, its summary, log prefix, the stages its numbers count)
    runners = [(runner, summary, '', stages)]
    if baseline is not None:
        base = dict(stages={}, failed={})
        base['stages']['pretrain'] = baseline.run('pretrain',
                                                  '(start weights)')
        runners.append((baseline, base, f'{RANDOM_INIT} ',
                        ['pretrain', *base_stages]))
        summary['random_init'] = baseline.work_root
    # Submission order is STAGES order, so a stage's source was submitted
    # (and started) before it: waiting on it cannot starve the pool.
    with ThreadPoolExecutor(max_workers=args.parallel) as pool:
        for run, _, prefix, own in runners:
            for stage in own:
                if stage != 'pretrain':
                    run.futures[stage] = pool.submit(
                        run.run, stage,
                        f'{prefix}{own.index(stage) + 1}/{len(own)}')
    for run, out, _, _ in runners:
        for stage in run.futures:
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
    parser.add_argument('--random-init-stages', nargs='+',
                        default=list(RANDOM_INIT_STAGES),
                        choices=(*STAGES[1:], 'all'), metavar='STAGE',
                        help='transfer stages of the random-init row (with '
                        "the stages they start from); 'all': every one "
                        'this pipeline runs')
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
    if 'all' in args.random_init_stages:
        args.random_init_stages = list(STAGES[1:])
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
