"""A smoke pretraining killed with SIGKILL and resumed ends with exactly the
weights of an uninterrupted run with the same seed."""
import os
import signal
import subprocess
import time

import torch

from conftest import SMOKE_PRETRAIN, mim, run_cli

EPOCHS = 4
OPTIONS = ['--cfg-options', f'train_cfg.max_epochs={EPOCHS}',
           'default_hooks.checkpoint.interval=1',
           'default_hooks.checkpoint.max_keep_ckpts=10']


def train_cmd(work_dir):
    return mim('train', 'mmpretrain', SMOKE_PRETRAIN, '--work-dir',
               str(work_dir), *OPTIONS)


def final_state(work_dir):
    from backbones.compat import safe_torch_load
    ckpt = safe_torch_load(str(work_dir / f'epoch_{EPOCHS}.pth'))
    return ckpt['state_dict'], ckpt['meta']


def test_sigkill_then_resume_matches_uninterrupted(tiny_data, tmp_path):
    os.makedirs(tmp_path / 'data')
    os.symlink(tiny_data, tmp_path / 'data' / 'tiny')
    run_cli(train_cmd(tmp_path / 'straight'), cwd=str(tmp_path))

    killed = tmp_path / 'killed'
    proc = subprocess.Popen(train_cmd(killed), cwd=str(tmp_path),
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 300
    while not (killed / 'epoch_2.pth').exists():
        assert proc.poll() is None, 'training ended before it was killed'
        assert time.time() < deadline, 'no checkpoint after 300 s'
        time.sleep(0.05)
    time.sleep(0.5)  # some iterations into epoch 3
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / f'epoch_{EPOCHS}.pth').exists()

    resumed = run_cli(train_cmd(killed), cwd=str(tmp_path))
    assert 'resumed epoch' in resumed.stdout + resumed.stderr

    a, meta_a = final_state(tmp_path / 'straight')
    b, meta_b = final_state(killed)
    assert meta_a['iter'] == meta_b['iter'] == EPOCHS * 10
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
