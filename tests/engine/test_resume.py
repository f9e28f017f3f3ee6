"""A smoke pretraining killed with SIGKILL and resumed ends with exactly the
weights of an uninterrupted run with the same seed, with worker processes
too, and its run summary covers the epochs before the kill."""
import json
import os
import signal
import subprocess
import time

import pytest
import torch

from conftest import SMOKE_PRETRAIN, mim, run_cli

EPOCHS = 4
OPTIONS = [f'train_cfg.max_epochs={EPOCHS}',
           'default_hooks.checkpoint.interval=1',
           'default_hooks.checkpoint.max_keep_ckpts=10']
# Two persistent workers, and 3 iterations (96 of the 320 images) an epoch
# to keep the test short.
WORKERS = ['train_dataloader.num_workers=2',
           'train_dataloader.persistent_workers=True',
           'train_dataloader.dataset.indices=96']


def train_cmd(work_dir, options):
    return mim('train', 'mmpretrain', SMOKE_PRETRAIN, '--work-dir',
               str(work_dir), '--cfg-options', *options)


def final_state(work_dir):
    from backbones.engine.compat import safe_torch_load
    ckpt = safe_torch_load(str(work_dir / f'epoch_{EPOCHS}.pth'))
    return ckpt['state_dict'], ckpt['meta']


def summary(work_dir):
    with open(work_dir / 'run_summary.json') as f:
        return json.load(f)


def kill_and_resume(root, tiny_data, options):
    """Train ``root/straight`` uninterrupted; train ``root/killed``, SIGKILL
    its whole process group once the epoch-2 checkpoint is complete, and
    resume it. Returns the seconds from the start to the kill and of the
    resumed part."""
    os.makedirs(root / 'data')
    os.symlink(tiny_data, root / 'data' / 'tiny')
    run_cli(train_cmd(root / 'straight', options), cwd=str(root))

    killed = root / 'killed'
    start = time.time()
    proc = subprocess.Popen(train_cmd(killed, options), cwd=str(root),
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 300
    last = killed / 'last_checkpoint'  # written once a checkpoint is saved
    while not (last.exists() and
               last.read_text().strip().endswith('epoch_2.pth')):
        assert proc.poll() is None, 'training ended before it was killed'
        assert time.time() < deadline, 'no checkpoint after 300 s'
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before_kill = time.time() - start
    assert not (killed / f'epoch_{EPOCHS}.pth').exists()

    start = time.time()
    resumed = run_cli(train_cmd(killed, options), cwd=str(root))
    assert 'resumed epoch' in resumed.stdout + resumed.stderr
    return before_kill, time.time() - start


def assert_same_weights(root, iters):
    a, meta_a = final_state(root / 'straight')
    b, meta_b = final_state(root / 'killed')
    assert meta_a['iter'] == meta_b['iter'] == EPOCHS * iters
    assert a.keys() == b.keys()
    differ = {key: float((a[key] - b[key]).abs().max()) for key in a
              if not torch.equal(a[key], b[key])}
    assert not differ, (f'{len(differ)} of {len(a)} tensors differ, at most '
                        f'by {max(differ.values()):.2e}')


def test_sigkill_then_resume_matches_uninterrupted(tiny_data, tmp_path):
    kill_and_resume(tmp_path, tiny_data, OPTIONS)
    assert_same_weights(tmp_path, 10)


@pytest.fixture(scope='module')
def with_workers(tiny_data, tmp_path_factory):
    """Kill-and-resume with two persistent workers: (root, seconds before
    the kill, seconds of the resumed part)."""
    root = tmp_path_factory.mktemp('workers')
    return (root, *kill_and_resume(root, tiny_data, OPTIONS + WORKERS))


def test_resume_with_persistent_workers_matches_uninterrupted(with_workers):
    assert_same_weights(with_workers[0], 3)


def test_resumed_summary_covers_every_epoch(with_workers):
    root, before_kill, resumed_part = with_workers
    straight, resumed = summary(root / 'straight'), summary(root / 'killed')
    assert resumed['finished'] is True
    for key in 'images', 'iterations', 'epochs':
        assert resumed['cost'][key] == straight['cost'][key], key
    assert resumed['cost']['images'] == EPOCHS * 96
    # the same losses, since the resume is exact
    assert resumed['loss_curve'] == straight['loss_curve']
    assert [epoch for epoch, _ in resumed['loss_curve']] == [1, 2, 3, 4]
    (resume, ) = resumed['resumed_from']
    assert (resume['epoch'], resume['iteration']) == (2, 6)
    # wall time: the first part up to its epoch-2 checkpoint plus the
    # resumed part (each less than the time the test measured outside)
    wall = resumed['cost']['wall_time_s']
    assert 0 < resume['wall_time_s'] < before_kill
    assert resume['wall_time_s'] < wall < before_kill + resumed_part
    assert resumed['cost']['train_time_s'] < wall
    assert resumed['cost']['device_hours'] == pytest.approx(wall / 3600)
    assert straight['resumed_from'] == []
