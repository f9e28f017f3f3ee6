"""Random-init rows: the untrained encoder through the same protocols.

The pretraining config run for 0 epochs with the pipeline's seed saves
exactly the weights pretraining starts from
(:class:`backbones.engine.hooks.InitCheckpointHook`) into
``<runs-root>/random-init_<backbone>_0e_seed<N>``; the transfer stages run
from there, and that folder's pipeline summary is the leaderboard's
``random-init`` row (:mod:`benchmarks.comparisons` computes the gains over
it). Every method on a backbone shares the folder and reuses its finished
stages.
"""
import os.path as osp
from typing import List, Sequence

from mmengine.config import Config

from backbones.engine.hooks import INIT_CHECKPOINT
from benchmarks.comparisons import RANDOM_INIT
from benchmarks.leaderboard import PIPELINE_SUMMARY
from benchmarks.stages import (STAGES, StageRunner, init_sources, read_summary,
                               read_summary_file)

# the random-init row's default stages: the cheap ones (det + seg would
# double a smoke pipeline, see the README)
RANDOM_INIT_STAGES = ('finetune', 'linear', 'knn')


def random_init_stages(cfg: Config, transfer: List[str],
                       wanted: Sequence[str]) -> List[str]:
    """The transfer stages of the random-init row: those of ``transfer``
    in ``wanted``, with every stage one of them starts from (its
    ``mimb_init_from`` source, e.g. det's fine-tune), in STAGES order."""
    chosen = set(transfer) & set(wanted)
    chosen |= {s for s in init_sources(cfg, ['pretrain', *chosen]).values()
               if s != 'pretrain'}
    return [s for s in STAGES if s in chosen]


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
    runner = StageRunner(args, config, downstream, work_root,
                         init_sources(cfg, ['pretrain', *transfer]),
                         init_only=True)
    runner.check_reuse(transfer,
                       f"random-init (backbone {names['backbone']}) ")
    return runner


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
