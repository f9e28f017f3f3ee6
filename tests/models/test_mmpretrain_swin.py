"""SimMIM's reference row: mmpretrain's SimMIM + SimMIMSwinTransformer
pretraining and mmpretrain's SwinTransformer in every protocol.

A smoke pretraining checkpoint (window 8) loads into each smoke protocol
(window 16 where the maps allow it) with exactly the keys the protocol
names as missing or unexpected, the relative-position bias tables resized
by mmpretrain (which needs backbones.engine.compat's ``interp2d`` on SciPy >=
1.14); one training step of the smoke pretraining is finite and reaches
every encoder parameter.
"""
import fnmatch
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, default_collate
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import (CheckpointLoader, get_state_dict,
                                        load_checkpoint, save_checkpoint,
                                        weights_to_cpu)

import backbones  # noqa: F401  registers the suite, installs compat fixes
from backbones.engine.checkpoint import (check_loaded_checkpoint,
                                         extract_state_dict, strip_prefix)
from backbones.engine.compat import RegularGridInterp2d
from conftest import CONFIGS, build_model

PRETRAIN = osp.join(CONFIGS, 'simmim', 'simmim_mmpretrain-swin-tiny_'
                    '8xb512-amp-coslr-200e_in1k-256px.py')
SMOKE = osp.join(CONFIGS, 'simmim', 'simmim_mmpretrain-swin-micro_'
                 '1xb32-coslr-30e_tiny-in1k-128px.py')
PROTOCOLS = osp.join(CONFIGS, 'benchmarks', 'mmpretrain-swin')
SMOKE_INIT = [('mmpretrain-swin-micro_1xb32-coslr-8e_tiny-in1k-64px.py',
               'mmpretrain'),
              ('mmpretrain-swin-micro_1xb32-linear-coslr-30e_tiny-in1k-64px'
               '.py', 'mmpretrain'),
              ('mask-rcnn_mmpretrain-swin-micro-fpn_1xb2-12e_tiny-coco-128px'
               '.py', 'mmdet'),
              ('upernet_mmpretrain-swin-micro_1xb4-300i_tiny-ade20k-64x64.py',
               'mmseg')]
SMOKE_KNN = osp.join(PROTOCOLS, 'mmpretrain-swin-micro_knn-k20_tiny-in1k-'
                     '64px.py')


def windows(swin):
    """Window side of every stage of a built mmpretrain Swin."""
    return [stage.blocks[0].attn.window_size for stage in swin.stages]


def table(swin, stage):
    return swin.stages[stage].blocks[0].attn.w_msa.relative_position_bias_table


def save_pretraining(config, path):
    """A randomly initialised pretraining model of ``config``, saved as
    MMEngine's CheckpointHook saves it; returns the model."""
    torch.manual_seed(0)
    model = build_model(config, 'mmpretrain')
    save_checkpoint(dict(meta=dict(epoch=1),
                         state_dict=weights_to_cpu(get_state_dict(model))),
                    path)
    return model


@pytest.fixture(scope='module')
def smoke_checkpoint(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('simmim') / 'epoch_1.pth')
    return save_pretraining(SMOKE, path), path


def load_report(backbone_cfg, checkpoint):
    """Missing and unexpected keys when the checkpoint's encoder is loaded
    into a fresh backbone of ``backbone_cfg`` (the pre-hooks resize)."""
    from mmpretrain.registry import MODELS
    cfg = {k: v for k, v in backbone_cfg.items() if k != 'init_cfg'}
    cfg['type'] = cfg['type'].split('.')[-1]  # 'mmpretrain.SwinTransformer'
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        fresh = MODELS.build(cfg)
    state = strip_prefix(extract_state_dict(
        CheckpointLoader.load_checkpoint(checkpoint, 'cpu'), checkpoint),
        'backbone.', checkpoint)
    result = fresh.load_state_dict(state, strict=False)
    return set(result.missing_keys), set(result.unexpected_keys)


def expected_missing(backbone, pretrained):
    """Index buffers of the stages whose window changed (mmpretrain drops
    them with the resized table), plus the norms a dense protocol adds."""
    changed = [i for i, (a, b) in enumerate(zip(windows(backbone),
                                                windows(pretrained)))
               if a != b]
    keys = {f'stages.{i}.blocks.{j}.attn.w_msa.relative_position_index'
            for i in changed
            for j in range(len(backbone.stages[i].blocks))}
    keys |= {k for k in backbone.state_dict()
             if k.startswith(('norm0.', 'norm1.', 'norm2.'))}
    return keys, changed


@pytest.mark.parametrize('name,scope', SMOKE_INIT,
                         ids=[name for name, _ in SMOKE_INIT])
def test_smoke_checkpoint_enters_every_protocol(smoke_checkpoint, name,
                                                scope):
    pretrained, path = smoke_checkpoint
    config = osp.join(PROTOCOLS, name)
    cfg = Config.fromfile(config).model.backbone
    # the strict init raises on any key outside allow_missing/unexpected
    model = build_model(config, scope, checkpoint=path)
    swin, source = model.backbone, pretrained.backbone
    assert windows(swin)[0] == 16 and windows(source) == [8, 8, 8, 4]
    # and the keys it lets through are exactly the expected ones
    missing, unexpected = load_report(cfg, path)
    expected, changed = expected_missing(swin, source)
    assert missing == expected and unexpected == {'mask_token'}
    assert all(any(fnmatch.fnmatchcase(k, p) for p in
                   cfg.init_cfg.allow_missing) for k in expected)
    assert 0 in changed
    # stage 1: 15 x 15 table of window 8 -> 31 x 31 of window 16; an
    # interpolating resize keeps the zero-offset bias of every head
    big, small = table(swin, 0), table(source, 0)
    assert big.shape == (31 * 31, small.shape[1])
    assert torch.allclose(big[31 * 31 // 2], small[15 * 15 // 2])
    # every other encoder tensor is the pretrained one
    for key, value in swin.state_dict().items():
        if key in source.state_dict() and key not in expected and \
                'relative_position_bias_table' not in key:
            assert torch.equal(value, source.state_dict()[key]), key


def test_knn_checks_its_load_with_the_rebuilt_index_buffers(
        smoke_checkpoint):
    _, path = smoke_checkpoint
    cfg = Config.fromfile(SMOKE_KNN)
    model = build_model(SMOKE_KNN, 'mmpretrain')
    load_checkpoint(model, path, map_location='cpu', strict=False)
    check_loaded_checkpoint(model.backbone, path, 'backbone.',
                            allow_missing=cfg.test_cfg.allow_missing,
                            allow_unexpected=cfg.test_cfg.allow_unexpected)
    with pytest.raises(KeyError, match='relative_position_index'):
        check_loaded_checkpoint(model.backbone, path, 'backbone.',
                                allow_unexpected=['mask_token'])


def test_real_window_8_checkpoint_resizes_into_the_window_16_protocol(
        tmp_path):
    path = str(tmp_path / 'epoch_200.pth')
    pretrained = save_pretraining(PRETRAIN, path)
    config = osp.join(PROTOCOLS, 'mmpretrain-swin-tiny_8xb128-coslr-100e_'
                      'in1k-256px.py')
    swin = build_model(config, 'mmpretrain', checkpoint=path).backbone
    assert windows(pretrained.backbone) == [8] * 4
    assert windows(swin) == [16, 16, 16, 8]  # stage 4 is 8 x 8 at 256 px
    for stage, side in enumerate((31, 31, 31, 15)):
        assert table(swin, stage).shape[0] == side * side
    assert torch.equal(table(swin, 3), table(pretrained.backbone, 3))
    swin.eval()  # (mmpretrain's Swin.train() returns None, not self)
    with torch.no_grad():
        out = swin(torch.randn(1, 3, 256, 256))
    assert out[0].shape == (1, 768, 8, 8) and torch.isfinite(out[0]).all()


def test_one_smoke_training_step_reaches_every_encoder_parameter():
    cfg = Config.fromfile(SMOKE)
    cfg.model.data_preprocessor = cfg.data_preprocessor
    torch.manual_seed(0)
    np.random.seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        from mmpretrain.registry import MODELS
        model = MODELS.build(cfg.model)
        model.init_weights()
        pipeline = Compose(cfg.train_dataloader.dataset.pipeline[1:])
        rng = np.random.default_rng(0)
        batch = default_collate([
            pipeline(dict(img=rng.integers(0, 256, (160, 160, 3),
                                           dtype=np.uint8)))
            for _ in range(2)])
    model.train()
    data = model.data_preprocessor(batch, True)
    mask = torch.stack([s.mask for s in data['data_samples']])
    assert mask.shape == (2, 32, 32) and mask.float().mean() == 0.75
    loss = model.loss(data['inputs'], data['data_samples'])['loss']
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    params = dict(model.backbone.named_parameters())
    assert 'mask_token' in params
    for name, param in params.items():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_real_and_smoke_rows_name_the_same_protocols():
    real = Config.fromfile(PRETRAIN).mimb_downstream
    smoke = Config.fromfile(SMOKE).mimb_downstream
    assert set(real) == set(smoke) == {'finetune', 'linear', 'knn', 'det',
                                       'seg'}
    for rel_path in [*real.values(), *smoke.values()]:
        assert 'mmpretrain-swin/' in rel_path


def test_interp2d_replacement_interpolates_the_regular_grid():
    x = np.linspace(-3, 3, 7)
    y = np.linspace(-2, 2, 5)
    xx, yy = np.meshgrid(x, y)
    z = xx ** 3 - 2 * xx * yy ** 2 + yy  # cubic: reproduced exactly
    f = RegularGridInterp2d(x, y, z, kind='cubic')
    xs, ys = np.array([0.5, -1.25, 2.9]), np.array([1.5, -0.3])
    got = f(xs, ys)  # sorted first, (len(y), len(x)) as interp2d
    gx, gy = np.meshgrid(np.sort(xs), np.sort(ys))
    assert got.shape == (2, 3)
    assert np.allclose(got, gx ** 3 - 2 * gx * gy ** 2 + gy)
    with pytest.raises(ValueError, match='scattered'):
        RegularGridInterp2d(x, y, z.ravel(), kind='cubic')
    with pytest.raises(ValueError, match='kind'):
        RegularGridInterp2d(x, y, z, kind='nearest')


def test_mmpretrain_resize_keeps_constant_tables_and_the_centre():
    from mmpretrain.models.utils import resize_relative_position_bias_table
    torch.manual_seed(0)
    src = torch.randn(15 * 15, 3)
    for dst in (31, 7):
        out = resize_relative_position_bias_table(15, dst, src, 3)
        assert out.shape == (dst * dst, 3)
        assert torch.allclose(out[dst * dst // 2], src[15 * 15 // 2])
    flat = resize_relative_position_bias_table(15, 31, torch.full((225, 2),
                                                                  0.5), 2)
    assert torch.allclose(flat, torch.full_like(flat, 0.5))
