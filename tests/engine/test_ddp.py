"""Two gloo processes on the CPU (``--launcher pytorch --gpus 2``): the MAE
smoke pipeline (shorter schedules) through all six stages, two stages at a
time, a pretraining and a dense stage of
every other backbone family, SIGKILL + resume, and checkpoints that cross
between 1- and 2-process stages. The data sets have odd sizes, so the
samplers pad, and every metric must still see each image once."""
import glob
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from benchmarks.stages import free_port
from conftest import CONFIGS, SMOKE_PRETRAIN, mim, run_cli

# 7 classes x 41 / 5 images, 15 dense val images: nothing divides by 2.
ODD = dict(num_classes=7, train_per_class=41, val_per_class=5,
           dense_train=24, dense_val=15)
N_TRAIN, N_VAL = 7 * 41, 7 * 5
DDP = ['--launcher', 'pytorch', '--gpus', '2']
BENCH = osp.join(CONFIGS, 'benchmarks')
# family: (pretraining config, dense stage, its config)
FAMILIES = {
    'convvit': ('convmae/convmae_convvit-tiny_1xb32-coslr-30e_tiny-in1k-'
                '64px.py', 'det',
                'convvit/mask-rcnn_convvit-tiny-fpn_1xb2-6e_tiny-coco-'
                '128px.py'),
    'swin': ('um-mae/um-mae_swin-micro_1xb32-coslr-30e_tiny-in1k-128px.py',
             'seg', 'swin/upernet_swin-micro_1xb4-300i_tiny-ade20k-64x64.py'),
    'pvt': ('um-mae/um-mae_pvt-micro_1xb32-coslr-30e_tiny-in1k-128px.py',
            'det', 'pvt/mask-rcnn_pvt-micro-fpn_1xb2-12e_tiny-coco-128px.py'),
}
SHORT = dict(det=['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                  'default_hooks.checkpoint.interval=1',
                  'model.test_cfg.rcnn.score_thr=0.0'],
             seg=['train_cfg.max_iters=12', 'train_cfg.val_interval=12',
                  'default_hooks.checkpoint.interval=12',
                  'param_scheduler.0.end=6'])


@pytest.fixture(scope='module')
def odd_cwd(tmp_path_factory):
    """A working directory whose data/tiny holds the odd-sized sets."""
    from benchmarks.tiny_data import generate
    cwd = tmp_path_factory.mktemp('ddp')
    generate(str(cwd / 'data' / 'tiny'), **ODD)
    return cwd


def ddp_cmd(mode, package, config, work_dir, *options, procs=2):
    launch = DDP[:3] + [str(procs), '--port', str(free_port())]
    return mim(mode, package, config, '--work-dir', str(work_dir),
               *(launch if procs > 1 else []),
               *(['--cfg-options', *options] if options else []))


def summary(work_dir):
    return json.loads(open(osp.join(work_dir, 'run_summary.json')).read())


# The MAE smoke chain with shorter schedules (the 1-process pipeline test
# runs the full ones): derived configs beside the data, named as the
# pipeline expects. Mask R-CNN keeps every box (score_thr 0), so COCO AP is
# computed on the few training steps' detections.
SHORT_CHAIN = {
    'mae_vit-tiny-p4_2xb32-coslr-10e_tiny-in1k-32px.py': (
        SMOKE_PRETRAIN, 'train_cfg = dict(max_epochs=10)\n'
        "mimb_downstream = dict(finetune='./finetune.py', "
        "linear='./linear.py', knn={knn!r}, det='./det.py', seg='./seg.py')\n"
        'mimb_smoke = None\n'),
    'finetune.py': ('vit/vit-tiny-p4_1xb32-coslr-8e_tiny-in1k-32px.py',
                    '{epochs}'),
    'linear.py': ('vit/vit-tiny-p4_1xb32-linear-coslr-10e_tiny-in1k-32px.py',
                  '{epochs}'),
    'det.py': ('vit/mask-rcnn_vit-tiny-p4-sfp_1xb2-6e_tiny-coco-128px.py',
               '{epochs}model = dict(test_cfg=dict(rcnn=dict(score_thr=0.0)))'
               '\n'),
    'seg.py': ('vit/upernet_vit-tiny-p4-mln_1xb4-300i_tiny-ade20k-64x64.py',
               'train_cfg = dict(max_iters=40, val_interval=40)\n'
               'default_hooks = dict(checkpoint=dict(interval=40))\n'),
}
EPOCHS_2 = ('train_cfg = dict(max_epochs=2, val_interval=2)\n'
            'default_hooks = dict(checkpoint=dict(interval=2))\n')
SHORT_PRETRAIN = 'mae_vit-tiny-p4_2xb32-coslr-10e_tiny-in1k-32px.py'
MAE_RUN = 'mae_vit-tiny-p4_10e_seed0'


@pytest.fixture(scope='module')
def mae_ddp(odd_cwd):
    """The short MAE smoke chain, every stage as 2 processes, 2 stages at a
    time after pretraining."""
    folder = odd_cwd / 'configs'
    folder.mkdir()
    knn = osp.join(BENCH, 'vit', 'vit-tiny-p4_knn-k20_tiny-in1k-32px.py')
    for name, (base, body) in SHORT_CHAIN.items():
        base = base if osp.isabs(base) else osp.join(BENCH, base)
        (folder / name).write_text(f'_base_ = [{base!r}]\n' + body.format(
            knn=knn, epochs=EPOCHS_2))
    proc = run_cli([sys.executable, '-m', 'benchmarks.pipeline',
                    str(folder / SHORT_PRETRAIN), *DDP, '--parallel', '2',
                    '--runs-root', 'runs', '--results', 'results'],
                   cwd=str(odd_cwd), timeout=2400)
    return odd_cwd / 'runs' / MAE_RUN, proc.stdout


@pytest.mark.timeout(2700)
def test_mae_pipeline_on_two_processes(mae_ddp):
    run, out = mae_ddp
    pipe = json.loads((run / 'pipeline_summary.json').read_text())
    assert set(pipe['stages']) == {'pretrain', 'finetune', 'linear', 'knn',
                                   'det', 'seg'} and not pipe['failed']
    assert out.count('--launcher pytorch --gpus 2 --port') == 6
    for stage, done in pipe['stages'].items():
        cost = done['cost']
        assert done['finished'] and cost['num_devices'] == 2, stage
        assert cost['device_hours'] == pytest.approx(
            2 * cost['wall_time_s'] / 3600), stage
        assert len(glob.glob(str(run / stage / '**' / 'run_summary.json'),
                             recursive=True)) == 1
    pre = pipe['stages']['pretrain']['cost']
    # 144 (padded) images per rank and epoch, counted on both ranks
    assert pre['images'] == 10 * 2 * 144 and pre['iterations'] == 10 * 5
    assert pre['images_per_s'] > 0
    assert [f for f in os.listdir(run / 'pretrain') if f.endswith('.pth')
            ] == ['epoch_10.pth']
    knn_log = (run / 'knn' / 'stage.log').read_text()
    assert f'kNN: {N_TRAIN} bank features, {N_VAL} queries' in knn_log
    metrics = {k: v for done in pipe['stages'].values()
               for k, v in done['metrics'].items()}
    assert {'accuracy/top1', 'knn/top1', 'coco/bbox_mAP', 'coco/segm_mAP',
            'mIoU'} <= set(metrics)
    assert (run.parent.parent / 'results' / 'leaderboard.csv').is_file()


def knn_top1(cwd, checkpoint, procs, name):
    config = osp.join(BENCH, 'vit', 'vit-tiny-p4_knn-k20_tiny-in1k-32px.py')
    proc = run_cli(ddp_cmd('test', 'mmpretrain', config, cwd / name,
                           procs=procs) + ['--checkpoint', checkpoint],
                   cwd=str(cwd))
    assert f'kNN: {N_TRAIN} bank features, {N_VAL} queries' in (
        proc.stdout + proc.stderr)
    return summary(cwd / name)['metrics']['knn/top1']


@pytest.mark.timeout(900)
def test_metrics_see_each_image_once(mae_ddp):
    """Re-evaluated on one process, every 2-process metric is the same."""
    run, _ = mae_ddp
    cwd = run.parent.parent
    pipe = json.loads((run / 'pipeline_summary.json').read_text())
    stages = pipe['stages']
    # the 2-process pretraining checkpoint in a 1-process kNN
    assert knn_top1(cwd, pipe['pretrain_checkpoint'], 1, 'knn1') == \
        stages['knn']['metrics']['knn/top1']
    for stage, package, key in (
            ('finetune', 'mmpretrain', 'accuracy/top1'),
            ('det', 'mmdet', 'coco/bbox_mAP'), ('seg', 'mmseg', 'mIoU')):
        work = run / stage
        config = stages[stage]['provenance']['config']
        ckpt = open(work / 'last_checkpoint').read().strip()
        run_cli(mim('test', package, config, '--checkpoint', ckpt,
                    '--work-dir', str(cwd / f'{stage}1')), cwd=str(cwd))
        one = summary(cwd / f'{stage}1')['metrics']
        assert one[key] == pytest.approx(stages[stage]['metrics'][key],
                                         abs=1e-9), stage


@pytest.mark.timeout(900)
def test_one_process_checkpoint_in_a_two_process_stage(odd_cwd):
    work = odd_cwd / 'pre1'
    run_cli(ddp_cmd('train', 'mmpretrain', SMOKE_PRETRAIN, work,
                    'train_cfg.max_epochs=1',
                    'default_hooks.checkpoint.interval=1', procs=1),
            cwd=str(odd_cwd))
    checkpoint = open(work / 'last_checkpoint').read().strip()
    two = knn_top1(odd_cwd, checkpoint, 2, 'knn2')
    assert two == knn_top1(odd_cwd, checkpoint, 1, 'knn1b')


EPOCHS = 4
# batch 8 per rank: 18 iterations, a few seconds per epoch
RESUME = [f'train_cfg.max_epochs={EPOCHS}', 'train_dataloader.batch_size=8',
          'default_hooks.checkpoint.interval=1',
          'default_hooks.checkpoint.max_keep_ckpts=10']


def kill_tree(pid):
    """SIGKILL ``pid`` and all its descendants (torch's launcher starts
    each worker in a session of its own, out of reach of killpg), then wait
    until they are gone."""
    children = {}
    for stat in glob.glob('/proc/[0-9]*/stat'):
        try:
            ppid = int(open(stat).read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.split('/')[2]))
    tree, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        tree += kids
        todo += kids
    for p in [pid, *tree]:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    while any(map(alive, tree)):
        time.sleep(0.05)


def alive(pid):
    """Running (not gone, not a zombie)."""
    try:
        stat = open(f'/proc/{pid}/stat').read()
    except OSError:
        return False
    return stat.rsplit(')', 1)[1].split()[0] != 'Z'


@pytest.mark.timeout(1200)
def test_sigkill_then_resume_on_two_processes(odd_cwd):
    straight, killed = odd_cwd / 'straight', odd_cwd / 'killed'
    run_cli(ddp_cmd('train', 'mmpretrain', SMOKE_PRETRAIN, straight,
                    *RESUME), cwd=str(odd_cwd))
    cmd = ddp_cmd('train', 'mmpretrain', SMOKE_PRETRAIN, killed, *RESUME)
    proc = subprocess.Popen(cmd, cwd=str(odd_cwd), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            start_new_session=True)
    seen = {}
    deadline = time.time() + 600
    while 2 not in seen:
        assert proc.poll() is None, 'training ended before it was killed'
        assert time.time() < deadline, 'no checkpoint after 600 s'
        for epoch in (1, 2):
            if epoch not in seen and (killed / f'epoch_{epoch}.pth').exists():
                seen[epoch] = time.time()
        time.sleep(0.02)
    time.sleep((seen[2] - seen.get(1, seen[2] - 2)) / 3)  # into epoch 3
    kill_tree(proc.pid)
    proc.wait()
    assert not (killed / 'epoch_3.pth').exists(), 'killed too late'
    resumed = run_cli(cmd, cwd=str(odd_cwd))
    assert 'resumed epoch' in resumed.stdout + resumed.stderr

    from backbones.engine.compat import safe_torch_load
    a = safe_torch_load(str(straight / f'epoch_{EPOCHS}.pth'))
    b = safe_torch_load(str(killed / f'epoch_{EPOCHS}.pth'))
    assert a['meta']['iter'] == b['meta']['iter'] == EPOCHS * 18
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for key in a['state_dict']:
        assert torch.equal(a['state_dict'][key], b['state_dict'][key]), key
    assert len(a['rng_state']) == 2  # both ranks' generators


@pytest.mark.timeout(1200)
@pytest.mark.parametrize('family', list(FAMILIES))
def test_family_pretrain_and_dense_stage(odd_cwd, family):
    pretrain, stage, dense = FAMILIES[family]
    work = odd_cwd / family
    run_cli(ddp_cmd('train', 'mmpretrain', osp.join(CONFIGS, pretrain),
                    work / 'pretrain', 'train_cfg.max_epochs=1',
                    'default_hooks.checkpoint.interval=1'),
            cwd=str(odd_cwd))
    checkpoint = open(work / 'pretrain' / 'last_checkpoint').read().strip()
    package = dict(det='mmdet', seg='mmseg')[stage]
    proc = run_cli(ddp_cmd('train', package, osp.join(BENCH, dense),
                           work / stage, *SHORT[stage],
                           f'model.backbone.init_cfg.checkpoint={checkpoint}'),
                   cwd=str(odd_cwd))
    assert 'strict load of' in proc.stdout + proc.stderr
    for name in ('pretrain', stage):
        done = summary(work / name)
        assert done['finished'] and done['cost']['num_devices'] == 2, name
    metrics = summary(work / stage)['metrics']
    key = 'coco/bbox_mAP' if stage == 'det' else 'mIoU'
    assert key in metrics, metrics
