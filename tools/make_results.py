"""Regenerate the committed results from the current code.

``python tools/make_results.py`` runs, on a clean work tree (every row
carries the commit it came from):

1. ``pipelines``: the smoke pipeline of each of the five methods (MAE,
   EMAE, ConvMAE, UM-MAE and SimMIM, their published configs with
   ``--smoke``: every stage, and every stage of the random-init row of each
   backbone, ``--random-init-stages all``) in a fresh runs folder, one seed
   by default (``--seeds 0 1 2`` for spread);
2. ``steps``: the step benchmarks of :data:`STEP_CASES` (``mimb-step-bench``,
   real-size configs at batch 8 on this machine's first device) into
   ``results/benchmarks/step_<name>.{csv,md}``;
3. ``leaderboard``: ``mimb-leaderboard`` of those runs into
   ``results/smoke/`` (leaderboard, pairs, budget, plots, HTML).

``results/PROVENANCE.md`` (from ``results/provenance.json``) gives, per
part, the commit, date, machine and every command it ran with its wall
time; the README's "Committed results" names the commits. Each part can be
run alone (``--parts steps``); a failing command stops the run with its
exit code and leaves the earlier files as they were. Every command runs
this checkout's code (``PYTHONPATH`` is set to it), so a clean clone of a
commit reproduces that commit's results.
"""
import argparse
import json
import os
import os.path as osp
import platform
import shlex
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from typing import List, Sequence

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(REPO, 'configs')
BENCH = osp.join(CONFIGS, 'benchmarks')
# the five methods' published pretraining configs (each has a mimb_smoke)
PIPELINES = (
    'mae/mae_vit-base-p16_8xb512-amp-coslr-800e_in1k.py',
    'emae/emae_vit-base-p16_8xb512-amp-coslr-300e_in1k.py',
    'convmae/convmae_convvit-base-p16_8xb384-amp-coslr-1600e_in1k.py',
    'um-mae/um-mae_swin-tiny_8xb512-amp-coslr-200e_in1k-256px.py',
    'simmim/simmim_swin-tiny_8xb512-amp-coslr-200e_in1k-256px.py',
)
MAE_B = 'mae/mae_vit-base-p16_8xb512-amp-coslr-800e_in1k.py'
# name -> (candidate config, baseline config, extra mimb-step-bench args)
STEP_CASES = {
    'mae-smoke': (
        'mae/mae_vit-tiny-p4_1xb32-coslr-30e_tiny-in1k-32px.py',
        'benchmarks/vit/vit-tiny-p4_1xb32-coslr-8e_tiny-in1k-32px.py',
        ['--batch-size', '32']),
    'mae-vit-b16-224': (MAE_B, 'benchmarks/vit/vit-base-p16_8xb128-coslr-'
                        '100e_in1k.py', []),
    'emae-vs-mae-vit-b16-224': (
        'emae/emae_vit-base-p16_8xb512-amp-coslr-300e_in1k.py', MAE_B, []),
    'convmae-b-vs-mae-vit-b16': (
        'convmae/convmae_convvit-base-p16_8xb384-amp-coslr-1600e_in1k.py',
        MAE_B, []),
    'convmae-b-masked-vs-all-tokens': (
        'convmae/convmae_convvit-base-p16_8xb384-amp-coslr-1600e_in1k.py',
        'benchmarks/convvit/convvit-base-p16_8xb128-coslr-100e_in1k.py', []),
    'ummae-vs-simmim-swin-t-256': (
        'um-mae/um-mae_swin-tiny_8xb512-amp-coslr-200e_in1k-256px.py',
        'simmim/simmim_swin-tiny_8xb512-amp-coslr-200e_in1k-256px.py', []),
    'ummae-vs-simmim-pvt-s-256': (
        'um-mae/um-mae_pvt-small_8xb512-amp-coslr-200e_in1k-256px.py',
        'simmim/simmim_pvt-small_8xb512-amp-coslr-200e_in1k-256px.py', []),
    # ViTDet's backbone at 1024 px: windowed blocks (the recipe) vs global
    # attention in every block, both without relative positions
    'vitdet-b16-1024_window-vs-global': (
        'benchmarks/vit/mask-rcnn_vit-base-p16-sfp_8xb8-amp-lsj-100e_coco.py',
        'benchmarks/vit/mask-rcnn_vit-base-p16-sfp_8xb8-amp-lsj-100e_coco.py',
        ['--backbone-only', '--batch-size', '1', '--img-size', '1024',
         '--steps', '3', '--warmup', '1',
         '--options', 'model.backbone.use_rel_pos=False',
         '--baseline-options', 'model.backbone.use_rel_pos=False',
         'model.backbone.window_size=0']),
}
PARTS = ('pipelines', 'steps', 'leaderboard')


class ResultsError(RuntimeError):
    """The work tree is dirty or a command failed."""


def git(*args: str) -> str:
    return subprocess.run(['git', '-C', REPO, *args], check=True,
                          capture_output=True, text=True).stdout.strip()


def method_of(config: str) -> str:
    """``mae`` of ``mae/mae_vit-...py``."""
    return osp.basename(config).split('_')[0]


def pipeline_commands(runs: str, out: str, seeds: Sequence[int],
                      methods: Sequence[str] = (),
                      python: str = sys.executable) -> List[List[str]]:
    """The ``mimb-pipeline`` command of each method (or of ``methods``
    only, rerun with ``--force`` into the existing runs), in order."""
    force = ['--force'] if methods else []
    return [[python, '-m', 'benchmarks.pipeline', osp.join(CONFIGS, config),
             '--smoke', '--random-init-stages', 'all', '--runs-root', runs,
             '--results', out, '--seeds', *map(str, seeds), *force]
            for config in PIPELINES
            if not methods or method_of(config) in methods]


def step_commands(out: str, python: str = sys.executable
                  ) -> List[List[str]]:
    """The ``mimb-step-bench`` command of each of :data:`STEP_CASES`."""
    return [[python, '-m', 'benchmarks.step_bench',
             osp.join(CONFIGS, candidate), '--baseline',
             osp.join(CONFIGS, baseline), *extra, '--name', f'step_{name}',
             '--out', out]
            for name, (candidate, baseline, extra) in STEP_CASES.items()]


def run(cmd: List[str], log: List[str]) -> None:
    """Run one command in the repository, its output on ours; record it.

    Raises:
        ResultsError: Non-zero exit.
    """
    line = shlex.join(cmd)
    print(f'[make-results] $ {line}', flush=True)
    start = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [REPO, *filter(None, [os.environ.get('PYTHONPATH')])]))
    code = subprocess.run(cmd, cwd=REPO, env=env).returncode
    seconds = time.perf_counter() - start
    if code:
        raise ResultsError(f'exit code {code} after {seconds:.0f} s: {line}')
    log.append(f'{line}  # {seconds:.0f} s')
    print(f'[make-results] done in {seconds:.0f} s', flush=True)


def record(out: str, part: str, commit: str, log: Sequence[str]) -> str:
    """Store what produced ``part`` in ``<out>/provenance.json`` and render
    every part's record as ``<out>/PROVENANCE.md``; returns the latter."""
    path = osp.join(out, 'provenance.json')
    parts = {}
    if osp.isfile(path):
        with open(path) as f:
            parts = json.load(f)
    if part == 'pipelines':  # all of them again: no partial reruns left
        parts = {k: v for k, v in parts.items()
                 if not k.startswith('pipelines')}
    parts[part] = dict(
        commit=commit,
        finished=datetime.now(timezone.utc).isoformat(timespec='seconds'),
        machine=f'{platform.machine()}, {os.cpu_count()} CPU cores, '
        f'Python {platform.python_version()}, load average at the end '
        '(1/5/15 min) ' + '/'.join(f'{x:.1f}' for x in os.getloadavg()),
        commands=list(log))
    with open(path, 'w') as f:
        json.dump(parts, f, indent=1)
    lines = ['# Provenance of the committed results', '',
             'Made by `python tools/make_results.py` (see its `--help`).', '']
    for name, entry in parts.items():
        lines += [f'## {name}', '', f"- commit: `{entry['commit']}`",
                  f"- finished: {entry['finished']}",
                  f"- machine: {entry['machine']}", '', '```',
                  *entry['commands'], '```', '']
    md = osp.join(out, 'PROVENANCE.md')
    with open(md, 'w') as f:
        f.write('\n'.join(lines))
    return md


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='tools/make_results.py', description=__doc__.split('\n\n')[0],
        epilog=__doc__.split('\n\n', 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--parts', nargs='+', choices=PARTS,
                        default=list(PARTS), help='what to regenerate')
    parser.add_argument('--runs', default=osp.join(REPO, 'work_dirs',
                                                   'results'),
                        help='runs folder (emptied before the pipelines)')
    parser.add_argument('--out', default=osp.join(REPO, 'results'),
                        help='results folder')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--methods', nargs='+', default=[],
                        choices=[method_of(c) for c in PIPELINES],
                        help='rerun only these pipelines (--force) into the '
                        'existing runs folder, e.g. after a change to one '
                        'method; the others keep their rows and commits')
    parser.add_argument('--allow-dirty', action='store_true',
                        help='run on a work tree with uncommitted changes '
                        '(the rows then say git_dirty)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    dirty = git('status', '--porcelain', '--untracked-files=no')
    if dirty and not args.allow_dirty:
        print('make_results: error: the work tree has uncommitted changes '
              f'({len(dirty.splitlines())} files); commit them first, or '
              'pass --allow-dirty', file=sys.stderr)
        return 1
    commit = git('rev-parse', 'HEAD') + (' + uncommitted changes'
                                         if dirty else '')
    smoke_out = osp.join(args.out, 'smoke')
    commands = dict(
        pipelines=lambda: pipeline_commands(args.runs, smoke_out,
                                            args.seeds, args.methods),
        steps=lambda: step_commands(osp.join(args.out, 'benchmarks')),
        leaderboard=lambda: [[sys.executable, '-m', 'benchmarks.leaderboard',
                              args.runs, '--out', smoke_out]])
    for part in (p for p in PARTS if p in args.parts):
        if part == 'pipelines' and not args.methods:
            shutil.rmtree(args.runs, ignore_errors=True)
        log: List[str] = []
        try:
            for cmd in commands[part]():
                run(cmd, log)
        except ResultsError as err:
            print(f'make_results: error: {err}', file=sys.stderr)
            return 1
        name = (f"{part} ({' '.join(args.methods)})"
                if part == 'pipelines' and args.methods else part)
        print('[make-results] ' + record(args.out, name, commit, log))
    print(f'[make-results] results of commit {commit[:12]} in {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
