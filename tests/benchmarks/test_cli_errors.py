"""Every ``mimb-*`` command ends an expected failure (bad file, bad key,
bad value) in one error line and exit code 1 or 2, never a traceback; the
real exception is found in a failed tool's output."""
import configparser
import importlib
import json
import os
import os.path as osp

import pytest
import torch

from benchmarks.errors import exception_lines
from conftest import REPO, SMOKE_PRETRAIN


class Calls:
    """Unpickling this calls ``function(*args)``."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return (self.function, self.args)


def bad_config(tmp):
    path = tmp / 'bad_config.py'
    path.write_text('model = dict(\n')
    return str(path)


def text_file(tmp, name='notes.pth'):
    path = tmp / name
    path.write_text('not a checkpoint\n')
    return str(path)


def evil_checkpoint(tmp):
    path = tmp / 'evil.pth'
    torch.save({'state_dict': {}, 'x': Calls(os.system, 'true')}, path)
    return str(path)


def dryrun_case(tmp):
    from benchmarks.tiny_data import COCO_IDS
    root = tmp / 'tiny'  # looks generated: no data are made
    for sub in ('imagenet', 'ade/ADEChallengeData2016', 'coco/annotations'):
        (root / sub).mkdir(parents=True)
    (root / 'coco' / 'annotations' / 'instances_val2017.json').write_text(
        json.dumps(dict(categories=[dict(name=n) for n in COCO_IDS])))
    return ['--configs', bad_config(tmp), '--plan-only', '--data-root',
            str(root), '--out', str(tmp / 'out')]


def scaling_bench_case(tmp):
    (tmp / 'data' / 'tiny' / 'imagenet').mkdir(parents=True)  # no generate
    (tmp / 'taken').write_text('a file where the work dir should go')
    return ['--work-dir', str(tmp / 'taken')]


# command -> (argv from a temporary folder, text the error line must have);
# the comment says what happened before the one shared CLI wrapper
CASES = {
    # ValueError, handled before
    'mimb-data': (lambda t: ['--out', text_file(t, 'a_file')],
                  'cannot create output folder'),
    # SyntaxError traceback
    'mimb-pipeline': (lambda t: [bad_config(t)], 'cannot read config'),
    # the stages started and failed inside mim
    'mimb-pipeline --checkpoint': (
        lambda t: [SMOKE_PRETRAIN, '--checkpoint', text_file(t), '--stages',
                   'knn', '--work-dir', str(t / 'run')],
        'is not a PyTorch checkpoint: starts with "not a checkpoint"'),
    # FileNotFoundError traceback from pandas
    'mimb-leaderboard': (lambda t: [str(t), '--out', str(t / 'out'),
                                    '--published', str(t / 'none.csv')],
                         'none.csv'),
    # RuntimeError traceback after a second of matmuls and a subprocess
    'mimb-step-bench': (lambda t: [str(t / 'none.py')], 'none.py'),
    # IndexError / UnpicklingError tracebacks
    'mimb-convert': (lambda t: ['mae', evil_checkpoint(t), str(t / 'o.pth')],
                     'the global posix.system'),
    # FileNotFoundError traceback from mmengine
    'mimb-matched-budget': (lambda t: [str(t / 'none.py')], 'none.py'),
    # UnpicklingError traceback
    'mimb-recon': (lambda t: [SMOKE_PRETRAIN, evil_checkpoint(t), '--out',
                              str(t / 'r.png')], 'the global posix.system'),
    # FileExistsError traceback
    'mimb-scaling-bench': (scaling_bench_case, 'taken'),
    # SyntaxError traceback
    'mimb-dryrun': (dryrun_case, 'cannot read config'),
    # argparse's one line (the bench came with it)
    'mimb-data-check-bench': (lambda t: ['--images', '0'],
                              '--images must be >= 1'),
    # a --steps config that is missing: refused before any check runs
    'mimb-doctor': (lambda t: ['--steps', '--configs', str(t / 'none.py')],
                    'none.py does not exist'),
    # a bad grid value, before any run (the study came with it)
    'mimb-emae-study': (lambda t: ['--distances', 'huber', '--work-dir',
                                   str(t / 'w')],
                        "distance 'huber': expected one of ('l1', 'mse')"),
}


def console_scripts():
    setup = configparser.ConfigParser()
    setup.read(osp.join(REPO, 'setup.cfg'))
    entries = setup['options.entry_points']['console_scripts']
    return dict(line.split(' = ') for line in entries.strip().splitlines())


def test_every_command_has_a_case():
    assert set(console_scripts()) == {c.split()[0] for c in CASES}


@pytest.mark.parametrize('case', list(CASES))
def test_expected_failure_is_one_line(case, tmp_path, monkeypatch, capsys):
    prog = case.split()[0]
    module, function = console_scripts()[prog].split(':')
    main = getattr(importlib.import_module(module), function)
    monkeypatch.chdir(tmp_path)
    make_argv, expected = CASES[case]
    argv = make_argv(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's usage errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code in (1, 2), err
    assert 'Traceback' not in err
    last = err.rstrip('\n').splitlines()[-1]
    assert last.startswith(f'{prog}: error: ') and expected in last, err
    if code == 1:  # not argparse's usage line + error
        assert err.count('\n') == 1, err


# what `mim train --launcher pytorch` prints when the training script
# fails: the script's own traceback, torchrun's report, then mim's wrapper
MIM_OUTPUT = '''12/01 10:00:00 - mmengine - INFO - Epoch(train) [1][2/4]
Traceback (most recent call last):
  File "tools/train.py", line 104, in <module>
    main()
  File "backbones/engine/checkpoint.py", line 160, in __call__
    ckpt = CheckpointLoader.load_checkpoint(self.checkpoint,
backbones.engine.compat.NotACheckpointError: x.pth is not a PyTorch \
checkpoint: empty file
''' + ''.join(f'shutdown line {i}\n' for i in range(5)) + '''\
Traceback (most recent call last):
  File "torch/distributed/run.py", line 892, in main
    run(args)
torch.distributed.elastic.multiprocessing.errors.ChildFailedError:
============================================================
tools/train.py FAILED
Traceback (most recent call last):
  File "mim/commands/train.py", line 100, in train
    subprocess.check_call(cmd, env=dict(os.environ, MASTER_PORT=port))
''' + ''.join(f'  File "mim/x.py", line {i}, in f\n    f()\n'
              for i in range(10)) + '''\
subprocess.CalledProcessError: Command '['python', 'train.py']' returned \
non-zero exit status 1.
'''


def test_exception_lines_skip_mims_wrapper():
    lines = exception_lines(MIM_OUTPUT.splitlines(True))
    assert lines[-1] == ('backbones.engine.compat.NotACheckpointError: x.pth '
                         'is not a PyTorch checkpoint: empty file')
    assert lines[0].startswith('  File "backbones/engine/checkpoint.py"')
    assert exception_lines(['Killed\n']) == ['Killed']
    assert exception_lines(['all good\n']) == []
