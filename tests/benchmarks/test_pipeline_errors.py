"""What ``mimb-pipeline`` tells at the end: the real exception of a failed
stage (also in its logs), the stages that finished without metrics; a
skipped rerun next to a broken summary still succeeds."""
import sys

import torch

import benchmarks.stages
from backbones.engine.fileio import atomic_write_json
from backbones.engine.hooks import SUMMARY_FILE
from backbones.tools.reconstruction import RECON_FILE
from benchmarks.pipeline import main
from conftest import SMOKE_PRETRAIN

COST = dict(device='cpu', num_devices=1, device_hours=0.01,
            images_per_s=100.0, peak_memory_mb=500.0, epochs=1)


def finished_pretraining(run):
    """A pretraining stage that a rerun skips: summary, checkpoint, picture.
    """
    pre = run / 'pretrain'
    pre.mkdir(parents=True)
    torch.save({'state_dict': {}}, pre / 'epoch_1.pth')
    (pre / 'last_checkpoint').write_text(str(pre / 'epoch_1.pth'))
    (pre / RECON_FILE).write_bytes(b'drawn before')
    atomic_write_json(str(pre / SUMMARY_FILE),
                      dict(finished=True, metrics={}, cost=COST))


def pipeline(tmp_path, *stages):
    return [SMOKE_PRETRAIN, '--stages', *stages, '--runs-root',
            str(tmp_path / 'runs'), '--work-dir',
            str(tmp_path / 'runs' / 'mae'), '--results',
            str(tmp_path / 'results')]


def test_skipped_rerun_names_stages_without_metrics(tmp_path, capsys):
    run = tmp_path / 'runs' / 'mae'
    finished_pretraining(run)
    atomic_write_json(str(run / 'finetune' / SUMMARY_FILE), dict(
        finished=True, metrics={'accuracy/top1': 80.0}))
    atomic_write_json(str(run / 'knn' / SUMMARY_FILE), dict(
        finished=True, metrics={}))  # before the hook wrote metrics_missing
    other = tmp_path / 'runs' / 'other' / 'pipeline_summary.json'
    atomic_write_json(str(other), dict(
        method='emae', backbone='vit', schedule='1e', seed=0, stages=dict(
            finetune=dict(metrics={'accuracy/top1': '45.0'}))))
    assert main(pipeline(tmp_path, 'pretrain', 'finetune', 'knn')) == 0
    out, err = capsys.readouterr()
    assert out.count('finished before, skipped') == 3
    assert f"{other}: stages.finetune.metrics['accuracy/top1']" in err
    assert err.splitlines()[-1].startswith(
        'mimb-pipeline: warning: stage knn finished without metrics')
    assert 'stage finetune finished' not in err
    md = (tmp_path / 'results' / 'leaderboard.md').read_text()
    assert '| missing ' in md


# A stand-in for `mim train`: the training script's traceback, then mim's
# own, longer one; an MMEngine log in the work dir.
FAKE_MIM = r'''
import os, sys
log_dir = os.path.join(sys.argv[1], '20261201_100000')
os.makedirs(log_dir, exist_ok=True)
with open(os.path.join(log_dir, '20261201_100000.log'), 'w') as f:
    f.write('12/01 10:00:00 - mmengine - INFO - Config: ...\n')
print('Traceback (most recent call last):')
print('  File "tools/train.py", line 104, in <module>')
print('    main()')
print('ValueError: data/coco/annotations/x.json: no "annotations" key')
print('Traceback (most recent call last):')
for i in range(25):
    print(f'  File "mim/commands/train.py", line {i}, in train')
    print('    ret = subprocess.check_call(')
print("subprocess.CalledProcessError: Command '[...]' returned non-zero "
      'exit status 1.')
sys.exit(1)
'''
ERROR = 'ValueError: data/coco/annotations/x.json: no "annotations" key'


def test_failed_stage_ends_with_its_exception(tmp_path, capsys,
                                              monkeypatch):
    finished_pretraining(tmp_path / 'runs' / 'mae')
    monkeypatch.setattr(
        benchmarks.stages, 'stage_command',
        lambda stage, config, work_dir, *args: [sys.executable, '-c',
                                                FAKE_MIM, work_dir])
    assert main(pipeline(tmp_path, 'pretrain', 'finetune')) == 1
    out, err = capsys.readouterr()
    assert err.rstrip('\n').splitlines()[-1] == ERROR
    assert '  File "tools/train.py", line 104, in <module>' in err
    assert 'CalledProcessError' not in err
    work_dir = tmp_path / 'runs' / 'mae' / 'finetune'
    stage_log = (work_dir / 'stage.log').read_text()
    assert stage_log.rstrip('\n').splitlines()[-1] == ERROR
    mmengine_log = (work_dir / '20261201_100000' /
                    '20261201_100000.log').read_text()
    assert mmengine_log.startswith('12/01 10:00:00 - mmengine')
    assert mmengine_log.rstrip('\n').splitlines()[-1] == ERROR
