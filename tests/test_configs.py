"""Every config in configs/ parses; every non-base config builds its model
and names downstream protocols that exist."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from conftest import CONFIGS

ALL = sorted(glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True))
RUNNABLE = [p for p in ALL if '_base_' not in p.split(osp.sep)]


def rel(path):
    return osp.relpath(path, CONFIGS)


def test_configs_exist():
    assert len(RUNNABLE) >= 13


@pytest.mark.parametrize('path', ALL, ids=rel)
def test_parses(path):
    Config.fromfile(path)


def dataset_types(node, key=''):
    """(key, type) of every ``dataset`` entry of a config."""
    if isinstance(node, dict):
        for k, v in node.items():
            sub = f'{key}.{k}' if key else k
            if k == 'dataset' and isinstance(v, dict):
                yield sub, str(v.get('type'))
            yield from dataset_types(v, sub)
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from dataset_types(v, f'{key}[{i}]')


@pytest.mark.parametrize('path', RUNNABLE, ids=rel)
def test_builds_model(path):
    from mmpretrain.registry import MODELS

    import backbones  # noqa: F401
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['backbones']
    assert any(h.type == 'RunSummaryHook' for h in cfg.custom_hooks)
    # every data set is checked before training (backbones/datasets/checked.py)
    for key, ds_type in dataset_types(cfg.to_dict()):
        assert ds_type.startswith('Checked') or ds_type == 'RepeatDataset', \
            f'{rel(path)} {key}: {ds_type} is not a checked data set'
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor'):
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmpretrain')):
        model = MODELS.build(model_cfg)
    assert sum(p.numel() for p in model.parameters()) > 0
    for rel_path in (cfg.get('mimb_downstream') or {}).values():
        target = osp.normpath(osp.join(osp.dirname(path), rel_path))
        assert osp.isfile(target), f'{rel(path)} names missing {rel_path}'
    if cfg.get('mimb_smoke'):
        assert osp.isfile(osp.join(osp.dirname(path), cfg.mimb_smoke))


# smoke configs run on the tiny data sets (`..._tiny-in1k-...`)
REAL = [p for p in RUNNABLE if '_tiny-' not in osp.basename(p)]
CONVVIT = [p for p in REAL if 'conv' in osp.basename(p)]
SWIN = [p for p in REAL if 'swin' in osp.basename(p)]
PVT = [p for p in REAL if 'pvt' in osp.basename(p)]


@pytest.mark.parametrize('path', [p for p in REAL
                                  if p not in CONVVIT + SWIN + PVT], ids=rel)
def test_real_configs_keep_published_recipe(path):
    cfg = Config.fromfile(path)
    if cfg.mimb_stage == 'pretrain':
        opt = cfg.optim_wrapper
        assert opt.type == 'AmpOptimWrapper' and opt.dtype == 'bfloat16'
        assert opt.optimizer.lr == pytest.approx(1.5e-4 * 4096 / 256)
        assert opt.optimizer.betas == (0.9, 0.95)
        assert opt.optimizer.weight_decay == 0.05
        assert cfg.train_dataloader.batch_size == 512
        assert cfg.auto_scale_lr.base_batch_size == 4096
        assert cfg.param_scheduler[0].end == 40
        assert cfg.model.backbone.mask_ratio == 0.75
        assert cfg.model.head.norm_pix is True
    elif cfg.mimb_stage == 'finetune':
        large = 'large' in path
        assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == (
            0.75 if large else 0.65)
        assert cfg.model.backbone.drop_path_rate == (0.2 if large else 0.1)
        assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
    elif cfg.mimb_stage == 'linear':
        assert cfg.optim_wrapper.optimizer.type == 'LARS'
        assert cfg.model.neck.type == 'ClsBatchNormNeck'
        assert cfg.model.backbone.frozen_stages == (
            24 if 'large' in path else 12)
    elif cfg.mimb_stage == 'knn':
        assert cfg.test_cfg.type == 'KNNTestLoop'
    elif cfg.mimb_stage == 'det':  # ViTDet
        large = 'large' in path
        vit = cfg.model.backbone
        assert vit.type == 'mmpretrain.WindowedViT' and vit.use_rel_pos
        assert vit.window_size == 14 and vit.img_size == 1024
        assert vit.global_attn_indexes == ((5, 11, 17, 23) if large else
                                           (2, 5, 8, 11))
        assert vit.drop_path_rate == (0.4 if large else 0.1)
        assert cfg.model.neck.type == 'SimpleFeaturePyramid'
        opt = cfg.optim_wrapper
        assert (opt.optimizer.lr, opt.optimizer.weight_decay) == (1e-4, 0.1)
        assert opt.paramwise_cfg.layer_decay_rate == (0.8 if large else 0.7)
        assert cfg.train_dataloader.batch_size * 8 == 64
        epochs = cfg.train_cfg.max_epochs * cfg.train_dataloader.dataset.times
        assert epochs == (25 if '25e' in path else 100)
    else:
        assert cfg.mimb_stage == 'seg'
        large = 'large' in path
        vit = cfg.model.backbone
        assert vit.window_size == 0 and vit.out_indices == (
            (7, 11, 15, 23) if large else (3, 5, 7, 11))
        assert cfg.model.neck.type == 'MultiLevelNeck'
        assert cfg.optim_wrapper.optimizer.lr == 1e-4
        assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == (
            0.75 if large else 0.65)
        assert cfg.train_cfg.max_iters == 160000
        assert cfg.crop_size == (512, 512)


@pytest.mark.parametrize('path', CONVVIT, ids=rel)
def test_convmae_configs_keep_published_recipe(path):
    """ConvMAE's published recipes (Alpha-VL/ConvMAE PRETRAIN.md,
    FINETUNE.md, DET/ and SEG/ configs)."""
    cfg = Config.fromfile(path)
    enc = cfg.model.backbone
    assert enc.arch == 'base'
    if cfg.mimb_stage == 'pretrain':
        assert enc.type == 'ConvMAEViT' and enc.mask_ratio == 0.75
        opt = cfg.optim_wrapper
        assert opt.type == 'AmpOptimWrapper'
        assert opt.optimizer.lr == pytest.approx(1.5e-4 * 3072 / 256)
        assert cfg.train_dataloader.batch_size * 8 == 3072
        assert cfg.param_scheduler[0].end == 40
        assert cfg.train_cfg.max_epochs == 1600
        assert (cfg.model.neck.decoder_embed_dim,
                cfg.model.neck.decoder_depth) == (512, 8)
        assert cfg.model.head.norm_pix and cfg.model.head.patch_size == 16
        return
    assert enc.type.endswith('ConvViT')
    if cfg.mimb_stage == 'finetune':
        assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.65
        assert enc.drop_path_rate == 0.1 and enc.out_type == 'avg_featmap'
    elif cfg.mimb_stage in ('linear', 'knn'):
        assert enc.final_norm and enc.out_type == 'avg_featmap'
    elif cfg.mimb_stage == 'det':
        assert (enc.window_size, enc.global_attn_indexes) == (16, (0, 3, 6,
                                                                   10))
        assert enc.out_indices == (0, 1, 2, 3) and enc.drop_path_rate == 0.1
        # one table among the windowed, one among the global blocks
        # (Alpha-VL/ConvMAE DET/models/convmae.py L515-520)
        assert enc.shared_rel_pos_bias and not enc.get('use_rel_pos')
        assert cfg.model.neck.type == 'FPN'
        assert cfg.model.neck.in_channels == [256, 384, 768, 768]
        opt = cfg.optim_wrapper.optimizer
        assert (opt.lr, opt.weight_decay) == (8e-5, 0.1)
        assert cfg.train_dataloader.batch_size * 8 == 32
        assert cfg.train_cfg.max_epochs == 25
        assert cfg.train_dataloader.dataset.times == 1
    else:
        assert cfg.mimb_stage == 'seg'
        assert enc.drop_path_rate == 0.2 and cfg.model.neck is None
        # SEG/configs/convmae/upernet_convmae_base_512_slide_160k_ade20k.py
        # L19-20 use_rel_pos_bias=True (a table per block), init_values=1.
        assert enc.layer_scale_init_value == 1.0 and enc.block_rel_pos_bias
        assert not enc.get('use_rel_pos')
        assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.75
        assert cfg.train_cfg.max_iters == 160000


def stage_windows(enc):
    """Window side per stage of a CoordSwin or an mmpretrain Swin config
    (mmpretrain's: ``window_size``, default 7, overridden per stage by
    ``stage_cfgs``, a dict for all stages or one per stage)."""
    if 'SwinTransformer' not in enc.type:
        return [enc.window_size] * 4
    stages = enc.get('stage_cfgs', {})
    stages = [stages] * 4 if isinstance(stages, dict) else stages
    return [s.get('block_cfgs', {}).get(
        'window_size', s.get('window_size', enc.get('window_size', 7)))
        for s in stages]


@pytest.mark.parametrize('path', SWIN, ids=rel)
def test_swin_configs_keep_published_recipe(path):
    """UM-MAE's published recipes (implus/UM-MAE Makefile and configs) and
    mmdet's / mmseg's Swin recipes for the dense tasks; SimMIM's reference
    row (mmpretrain's standard Swin) keeps the same numbers."""
    cfg = Config.fromfile(path)
    enc = cfg.model.backbone
    large = 'large' in path
    mmpretrain = 'mmpretrain-swin' in osp.basename(path)
    assert enc.arch == ('large' if large else 'tiny')
    if cfg.mimb_stage == 'pretrain':
        assert enc.type in (('SimMIMSwinTransformer', ) if mmpretrain else
                            ('UMMAESwin', 'SimMIMCoordSwin'))
        # UM-MAE window 8 (models_mae_swin.py L555), its SimMIM baseline 16
        # (models_simmim_swin.py L216); the w8 variant and mmpretrain's
        # reference row run SimMIM at 8
        window = 16 if enc.type == 'SimMIMCoordSwin' and not \
            cfg.mimb_variant else 8
        assert stage_windows(enc) == [window] * 4
        opt = cfg.optim_wrapper
        assert opt.optimizer.lr == pytest.approx(1.5e-4 * 4096 / 256)
        assert cfg.train_dataloader.batch_size * 8 == 4096
        assert cfg.param_scheduler[0].end == 10
        assert cfg.train_cfg.max_epochs == (800 if large else 200)
        crop = cfg.train_dataloader.dataset.pipeline[1]
        assert crop.scale == 256
        if mmpretrain:  # as the coordinate-aware encoders: no drop path
            assert enc.img_size == 256 and enc.drop_path_rate == 0
            assert cfg.model.head.loss.criterion == 'L1'
        if enc.type == 'UMMAESwin':
            assert (enc.mask_patch_size, enc.secondary_ratio) == (16, 0.25)
            assert cfg.model.neck.decoder_depth == 2
            assert cfg.model.head.norm_pix
        else:
            gen = cfg.train_dataloader.dataset.pipeline[3]
            assert (gen.mask_patch_size, gen.mask_ratio) == (16, 0.75)
        return
    assert enc.type.endswith('SwinTransformer' if mmpretrain else
                             'CoordSwin')
    # window 16; mmpretrain's Swin takes the 8 x 8 stage-4 map of the
    # 256 px classification crops in one window of 8 (as official Swin) and
    # pads smaller maps in the dense tasks
    dense = cfg.mimb_stage in ('det', 'seg')
    assert stage_windows(enc) == ([16, 16, 16, 8] if mmpretrain and not dense
                                  else [16] * 4)
    assert not mmpretrain or enc.get('pad_small_map', False) == dense
    if cfg.mimb_stage == 'finetune':
        assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == (
            0.9 if large else 0.85)
        assert cfg.optim_wrapper.optimizer.lr == 2e-3
        assert enc.drop_path_rate == (0.2 if large else 0.1)
    elif cfg.mimb_stage in ('linear', 'knn'):
        assert (enc.get('out_indices', (3, )) == (3, ) if mmpretrain else
                enc.out_type == 'avg_featmap')
    elif cfg.mimb_stage == 'det':
        assert cfg.model.neck.type == 'FPN'
        assert enc.drop_path_rate == (0.3 if large else 0.2)
        assert enc.out_indices == (0, 1, 2, 3)
        assert cfg.train_cfg.max_epochs == (36 if '3x' in path else 12)
    else:
        assert cfg.mimb_stage == 'seg'
        assert cfg.optim_wrapper.optimizer.lr == 1e-4
        assert cfg.train_cfg.max_iters == 160000
        assert enc.drop_path_rate == (0.3 if large else 0.2)
        assert enc.out_indices == (0, 1, 2, 3)


@pytest.mark.parametrize('path', PVT, ids=rel)
def test_pvt_configs_keep_published_recipe(path):
    """UM-MAE's PVT-S recipes (implus/UM-MAE Makefile, models_mae_pvt.py,
    models_simmim_pvt.py, SEG config) through the Swin-T protocols."""
    cfg = Config.fromfile(path)
    enc = cfg.model.backbone
    assert enc.arch == 'small'
    if cfg.mimb_stage == 'pretrain':
        assert enc.type in ('UMMAEPVT', 'SimMIMCoordPVT')
        assert enc.pretrain_size == 256
        assert cfg.optim_wrapper.optimizer.lr == pytest.approx(
            1.5e-4 * 4096 / 256)
        assert cfg.train_dataloader.batch_size * 8 == 4096
        assert cfg.param_scheduler[0].end == 10
        assert cfg.train_cfg.max_epochs == 200
        assert cfg.model.neck.in_channels == 512
        if enc.type == 'UMMAEPVT':
            assert tuple(enc.sr_ratios) == (4, 2, 1, 1)
            assert (enc.mask_patch_size, enc.secondary_ratio) == (16, 0.25)
            assert cfg.model.neck.decoder_depth == 2
            assert cfg.model.head.norm_pix
        else:
            gen = cfg.train_dataloader.dataset.pipeline[3]
            assert (gen.mask_patch_size, gen.mask_ratio) == (16, 0.75)
        return
    assert enc.type.endswith('CoordPVT') and 'sr_ratios' not in enc
    if cfg.mimb_stage == 'finetune':
        assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.85
        assert cfg.optim_wrapper.optimizer.lr == 2e-3
        assert enc.drop_path_rate == 0.1
        assert cfg.model.head.in_channels == 512
    elif cfg.mimb_stage in ('linear', 'knn'):
        assert enc.out_type == 'avg_featmap'
    else:
        assert enc.drop_path_rate == 0.1 and enc.out_indices == (0, 1, 2, 3)
        if cfg.mimb_stage == 'det':
            assert cfg.model.neck.in_channels == [64, 128, 320, 512]
            assert cfg.train_cfg.max_epochs == (36 if '3x' in path else 12)
        else:
            assert cfg.model.decode_head.in_channels == [64, 128, 320, 512]
            assert cfg.optim_wrapper.optimizer.lr == 1e-4
            assert cfg.train_cfg.max_iters == 160000
