"""mimb-dryrun: the real recipes at their real size for a few iterations on
the tiny data, through the real commands; what it shrinks, and how it
reports a failing run."""
import math
import os.path as osp
import sys

import pandas as pd
import pytest
from mmengine.config import Config

from benchmarks.dryrun import LOGGING, real_pretrain_configs, shrink_options
from benchmarks.tiny_data import TINY_COCO_CLASSES
from conftest import CONFIGS, REPO, run_cli

MAE_B = osp.join(CONFIGS, 'mae',
                 'mae_vit-base-p16_8xb512-amp-coslr-800e_in1k.py')
# one real pretraining config per encoder family
FAMILIES = {
    'vit': MAE_B,
    'convvit': osp.join(CONFIGS, 'convmae', 'convmae_convvit-base-p16_'
                        '8xb384-amp-coslr-1600e_in1k.py'),
    'swin': osp.join(CONFIGS, 'um-mae', 'um-mae_swin-tiny_8xb512-amp-coslr-'
                     '200e_in1k-256px.py'),
    'pvt': osp.join(CONFIGS, 'um-mae', 'um-mae_pvt-small_8xb512-amp-coslr-'
                    '200e_in1k-256px.py'),
}
VIT = osp.join(CONFIGS, 'benchmarks', 'vit')
DET = osp.join(VIT, 'mask-rcnn_vit-base-p16-sfp_8xb8-amp-lsj-100e_coco.py')


def shrunk(config, test=False, iters=3, batch=1, procs=2):
    options = shrink_options(Config.fromfile(config), test, iters, batch,
                             procs, '/tiny')
    return {key: new for key, _, new in options}


def test_every_real_pretraining_config_and_no_smoke_one():
    configs = real_pretrain_configs(CONFIGS)
    assert len(configs) == 16  # 13 published recipes, 3 named variants
    assert {osp.basename(osp.dirname(c)) for c in configs} == {
        'mae', 'emae', 'convmae', 'um-mae', 'simmim'}
    assert not [c for c in configs if '_tiny-' in c or 'micro' in c]
    assert sum('swin-tiny' in c for c in configs) == 5  # Swin-T is real
    assert sum(osp.basename(c).split('_')[0] in ('um-mae-pp', 'simmim-w8')
               for c in configs) == 3


def test_shrinks_only_batch_samples_and_iterations():
    # epoch-based pretraining: iterations x batch x processes samples, 1 ep
    assert shrunk(MAE_B) == {
        'train_dataloader.batch_size': 1,
        'train_dataloader.dataset.data_root': '/tiny/imagenet/',
        'train_dataloader.dataset.indices': 6,
        'train_cfg.max_epochs': 1, **LOGGING}  # checkpoints: every epoch
    # LSJ Mask R-CNN: the RepeatDataset repeats once, COCO evaluator
    assert shrunk(DET) == {
        'train_dataloader.batch_size': 1,
        'train_dataloader.dataset.dataset.data_root': '/tiny/coco/',
        'train_dataloader.dataset.dataset.indices': 6,
        'train_dataloader.dataset.times': 1,
        'val_dataloader.dataset.data_root': '/tiny/coco/',
        'val_dataloader.dataset.indices': 2,
        'val_evaluator.ann_file':
            '/tiny/coco/annotations/instances_val2017.json',
        'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 1, **LOGGING}
    # iteration-based UperNet 160k: 3 iterations, validation and
    # checkpoint at the third
    seg = shrunk(osp.join(
        VIT, 'upernet_vit-base-p16-mln_8xb2-amp-160k_ade20k-512x512.py'))
    assert seg['train_cfg.max_iters'] == 3
    assert seg['train_cfg.val_interval'] == 3
    assert seg['default_hooks.checkpoint.interval'] == 3
    assert seg['train_dataloader.dataset.data_root'] == \
        '/tiny/ade/ADEChallengeData2016/'
    # kNN (mim test): query and bank loaders, no training keys
    knn = shrunk(osp.join(VIT, 'vit-base-p16_knn-k20_in1k.py'), test=True)
    assert knn == {
        'test_dataloader.batch_size': 1,
        'test_dataloader.dataset.data_root': '/tiny/imagenet/',
        'test_dataloader.dataset.indices': 6,
        'test_cfg.bank_dataloader.batch_size': 1,
        'test_cfg.bank_dataloader.dataset.data_root': '/tiny/imagenet/',
        'test_cfg.bank_dataloader.dataset.indices': 6, **LOGGING}
    # the linear probe's BatchNorm neck cannot train on one sample
    linear = shrunk(osp.join(VIT, 'vit-base-p16_8xb2048-linear-coslr-'
                             '90e_in1k.py'), procs=1)
    assert linear['train_dataloader.batch_size'] == 2
    assert linear['train_dataloader.dataset.indices'] == 6


def test_real_detection_config_keeps_tiny_coco_images(tiny_data):
    from mmdet.registry import DATASETS
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(DET)
    options = shrink_options(cfg, False, 3, 1, 1, tiny_data)
    cfg.merge_from_dict({key: new for key, _, new in options})
    with DefaultScope.overwrite_default_scope('mmdet'):
        train = DATASETS.build(cfg.train_dataloader.dataset)
        val = DATASETS.build(cfg.val_dataloader.dataset)
    assert len(train) == 3 and len(val) == 1
    classes = train.dataset.metainfo['classes']
    assert len(classes) == 80
    for i in range(3):
        labels = {classes[a['bbox_label']]
                  for a in train.dataset.get_data_info(i)['instances']}
        assert labels and labels <= set(TINY_COCO_CLASSES)
    assert train[0]['inputs'].shape[0] == 3  # the LSJ pipeline ran


# On this CPU class (AVX2, no native bf16) a bf16 matmul is about 75x
# slower than fp32, so CI runs the configs' bf16 AMP on the two small
# encoders and the ViT-B, the ConvViT-B and the detector in fp32.
BF16 = ('swin', 'pvt')


@pytest.fixture(scope='module')
def dry_runs(tiny_data, tmp_path_factory):
    """Two iterations at batch 1 of the four families' pretraining (Swin-T
    and PVT-S in bf16), then one iteration of MAE ViT-B's Mask R-CNN (LSJ
    1024) from its checkpoint, all into one table."""
    root = tmp_path_factory.mktemp('dryrun')

    def dryrun(*args, iters=2):
        return run_cli([sys.executable, '-m', 'benchmarks.dryrun', '--iters',
                        str(iters), '--batch-size', '1', '--data-root',
                        tiny_data, '--work-dir', str(root / 'work'), '--out',
                        str(root), '--append', *args], timeout=1800)
    dryrun('--configs', *(FAMILIES[f] for f in BF16), '--stages', 'pretrain')
    dryrun('--configs', *(c for f, c in FAMILIES.items() if f not in BF16),
           '--stages', 'pretrain', '--fp32', 'pretrain', '--keep-checkpoints')
    proc = dryrun('--configs', MAE_B, '--stages', 'det', '--fp32', 'det',
                  iters=1)
    return root, proc


@pytest.mark.timeout(3600)
def test_real_configs_ran_at_batch_1(dry_runs):
    root, proc = dry_runs
    table = pd.read_csv(root / 'dryrun.csv')
    pre, det = table[table.stage == 'pretrain'], table[table.stage == 'det']
    assert sorted(osp.join(REPO, p) for p in pre.pretrain) == sorted(
        FAMILIES.values())
    assert len(det) == 1 and len(table) == 5
    families = {osp.join(REPO, p): f for f, p in FAMILIES.items()}
    for row in table.itertuples():
        assert row.status == 'ran', row
        assert row.batch == 1
        assert row.iterations == (2 if row.stage == 'pretrain' else 1)
        assert row.s_per_iter > 0 and row.peak_memory_mb > 100
        assert math.isfinite(row.first_loss), row
        assert math.isfinite(row.last_loss), row
        bf16 = row.stage == 'pretrain' and families[
            osp.join(REPO, row.pretrain)] in BF16
        assert row.precision == ('bf16 autocast' if bf16 else
                                 'fp32 (--fp32)'), row
    row = det.iloc[0]
    assert row.config == osp.relpath(DET, REPO)
    assert row.checkpoint_of == osp.relpath(MAE_B, REPO)
    # the real-size checkpoint went through the strict hand-off, the real
    # CocoMetric evaluated (after one warm-up iteration at lr 1e-7 no box
    # passes the 0.05 score threshold; tests/benchmarks/test_tiny_data.py
    # shows that it gives AP on the tiny COCO)
    log = (root / 'work' / osp.splitext(osp.basename(MAE_B))[0] / 'det' /
           'stage.log').read_text()
    assert 'strict load of' in log
    assert 'Evaluating bbox' in log
    assert 'coco/bbox_mAP' in str(row.metrics) or \
        'results of the whole dataset is empty' in log
    assert 'shrunk train_dataloader.dataset.times: 4 -> 1' in proc.stdout
    md = (root / 'dryrun.md').read_text()
    assert md.startswith('| pretrain') and md.count('| ran ') == 5


def test_failing_run_is_reported_and_exit_is_nonzero(tiny_data, tmp_path):
    finetune = osp.join(VIT, 'vit-base-p16_8xb128-coslr-100e_in1k.py')
    broken = tmp_path / 'broken_vit-base_8xb512-800e_in1k.py'
    broken.write_text(
        f'_base_ = [{MAE_B!r}]\n'
        "model = dict(type='NoSuchSelfSupervisor')\n"
        f'mimb_downstream = dict(_delete_=True, finetune={finetune!r})\n')
    proc = run_cli([sys.executable, '-m', 'benchmarks.dryrun', '--configs',
                    str(broken), '--stages', 'pretrain', 'finetune',
                    '--data-root', tiny_data, '--work-dir',
                    str(tmp_path / 'work'), '--out', str(tmp_path / 'out')],
                   check=False, timeout=900)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    table = pd.read_csv(tmp_path / 'out' / 'dryrun.csv')
    assert table.stage.tolist() == ['pretrain', 'finetune']
    assert (table.status == 'error').all()
    assert 'NoSuchSelfSupervisor' in table.error[0]
    assert 'no checkpoint' in table.error[1]
    assert 'NoSuchSelfSupervisor' in proc.stderr
