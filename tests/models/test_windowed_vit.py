"""The dense plain-ViT backbone, its pyramid neck, its layer decay, and the
hand-off of a pretraining checkpoint to detection and segmentation."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.models.backbones.vision_transformer import \
    TransformerEncoderLayer

from backbones.engine.checkpoint import BackboneKeysError
from backbones.models.encoders.windowed_vit import (WindowedEncoderLayer,
                                                    WindowedViT,
                                                    window_partition,
                                                    window_unpartition)
from backbones.models.necks import SimpleFeaturePyramid
from conftest import CONFIGS, SMOKE_PRETRAIN

TINY = dict(embed_dims=64, num_layers=4, num_heads=4,
            feedforward_channels=256)
DET = f'{CONFIGS}/benchmarks/vit/' \
    'mask-rcnn_vit-tiny-p4-sfp_1xb2-6e_tiny-coco-128px.py'
SEG = f'{CONFIGS}/benchmarks/vit/' \
    'upernet_vit-tiny-p4-mln_1xb4-300i_tiny-ade20k-64x64.py'


@pytest.mark.parametrize('hw', [(8, 8), (7, 5), (9, 16)])
def test_window_partition_round_trip(hw):
    x = torch.randn(2, *hw, 3)
    windows, padded = window_partition(x, 4)
    assert windows.shape[1:] == (16, 3)
    assert padded[0] % 4 == 0 and padded[1] % 4 == 0
    assert torch.equal(window_unpartition(windows, 4, padded, hw), x)


def layer_pair(**kwargs):
    ref = TransformerEncoderLayer(embed_dims=32, num_heads=4,
                                  feedforward_channels=64)
    ours = WindowedEncoderLayer(embed_dims=32, num_heads=4,
                                feedforward_channels=64, **kwargs)
    ours.load_state_dict(ref.state_dict(), strict=False)
    return ref.eval(), ours.eval()


def test_global_layer_equals_mmpretrain_layer():
    ref, ours = layer_pair(window_size=0)
    x = torch.randn(2, 36, 32)
    assert torch.allclose(ref(x), ours(x, (6, 6)), atol=1e-6)


def test_one_window_covering_the_grid_is_global_attention():
    ref, ours = layer_pair(window_size=6)
    x = torch.randn(2, 36, 32)
    assert torch.allclose(ref(x), ours(x, (6, 6)), atol=1e-6)


def test_windows_do_not_see_each_other():
    _, ours = layer_pair(window_size=4)
    x = torch.randn(1, 64, 32)
    y = x.clone()
    y.view(1, 8, 8, 32)[:, 4:, 4:] += 1  # change only the last window
    out_x, out_y = ours(x, (8, 8)), ours(y, (8, 8))
    same = (out_x - out_y).abs().view(8, 8, 32).amax(-1) < 1e-6
    assert same[:4].all() and same[:, :4].all() and not same[4:, 4:].any()


@pytest.mark.parametrize('size', [(64, 64), (60, 52), (62, 50), (32, 96)])
def test_output_strides_and_channels(size):
    vit = WindowedViT(arch=TINY, img_size=64, patch_size=4, window_size=4,
                      global_attn_indexes=(1, 3), use_rel_pos=True,
                      out_indices=(1, 3))
    neck = SimpleFeaturePyramid(64, 32, scale_factors=(1, .5, .25, .125))
    feats = vit(torch.randn(2, 3, *size))
    grid = (-(-size[0] // 4), -(-size[1] // 4))  # ceil: adaptive padding
    assert [f.shape for f in feats] == [(2, 64, *grid)] * 2
    outs = neck(feats)
    assert len(outs) == 5  # strides 4, 8, 16, 32 + the RPN's 64
    # pooling floors, the extra level's stride-2 subsampling rounds up
    # (as ViTDet; mmdet pads inputs to a multiple of 32 anyway)
    sides = [(grid[0] // 2**i, grid[1] // 2**i) for i in range(4)]
    sides.append((-(-sides[3][0] // 2), -(-sides[3][1] // 2)))
    assert [o.shape for o in outs] == [(2, 32, *s) for s in sides]


def test_invalid_arguments_are_named():
    with pytest.raises(ValueError, match=r'global_attn_indexes \[7\]'):
        WindowedViT(arch=TINY, img_size=32, patch_size=4,
                    global_attn_indexes=(7, ))
    with pytest.raises(ValueError, match='powers of two'):
        SimpleFeaturePyramid(64, scale_factors=(3, ))


def test_rel_pos_and_checkpointing_get_gradients():
    vit = WindowedViT(arch=TINY, img_size=32, patch_size=4, window_size=4,
                      global_attn_indexes=(3, ), use_rel_pos=True,
                      with_cp=True)
    vit.train()
    vit(torch.randn(1, 3, 40, 32))[0].sum().backward()
    missing = [n for n, p in vit.named_parameters()
               if p.requires_grad and p.grad is None]
    assert not missing


@pytest.fixture(scope='module')
def smoke_pretrain_checkpoint(tmp_path_factory):
    """A checkpoint of the MAE smoke model as the pretraining writes it."""
    from mmpretrain.registry import MODELS

    import backbones  # noqa: F401
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(Config.fromfile(SMOKE_PRETRAIN).model)
    model.init_weights()
    path = tmp_path_factory.mktemp('ckpt') / 'epoch_30.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path), model.state_dict()


def build_task_model(config, checkpoint, scope):
    cfg = Config.fromfile(config)
    registry = __import__(f'{scope}.registry',
                          fromlist=['MODELS']).MODELS
    cfg.model.backbone.init_cfg.checkpoint = checkpoint
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(cfg.model)
        model.init_weights()
    return cfg, model


@pytest.mark.parametrize('config, scope', [(DET, 'mmdet'), (SEG, 'mmseg')])
def test_mae_smoke_checkpoint_loads_with_zero_missing_keys(
        smoke_pretrain_checkpoint, config, scope):
    path, pretrained = smoke_pretrain_checkpoint
    _, model = build_task_model(config, path, scope)
    ours = model.backbone.state_dict()
    for key, value in ours.items():
        if 'rel_pos' in key:
            continue  # new in the detector, zero-initialised
        src = pretrained['backbone.' + key]
        if key == 'pos_embed':  # cls dropped, 8x8 grid resized
            assert value.shape[1] == model.backbone.patch_resolution[0]**2
            continue
        assert torch.equal(value, src), key


def test_checkpoint_that_does_not_fit_stops_with_the_keys(tmp_path):
    from mmpretrain.registry import MODELS

    import backbones  # noqa: F401
    cfg = Config.fromfile(SMOKE_PRETRAIN)
    cfg.model.backbone.arch.num_layers = 2  # missing blocks 2 and 3
    cfg.model.backbone.patch_size = 8  # wrong patch size
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    path = str(tmp_path / 'other.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    with pytest.raises(BackboneKeysError) as info:
        build_task_model(DET, path, 'mmdet')
    msg = str(info.value)
    assert 'patch_embed.projection.weight' in msg and 'other.pth' in msg


def test_layer_decay_reaches_the_detector_backbone(
        smoke_pretrain_checkpoint):
    from mmengine.optim import build_optim_wrapper
    cfg, model = build_task_model(DET, smoke_pretrain_checkpoint[0],
                                  'mmdet')
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    lr_of = {}
    names = {id(p): n for n, p in model.named_parameters()}
    for group in optim.optimizer.param_groups:
        for p in group['params']:
            lr_of[names[id(p)]] = group['lr']
    base = cfg.optim_wrapper.optimizer.lr
    rate = cfg.optim_wrapper.paramwise_cfg.layer_decay_rate
    # 4 blocks -> depths 0 (embeddings) .. 5 (rest): scale rate**(5 - d)
    assert lr_of['backbone.patch_embed.projection.weight'] == \
        pytest.approx(base * rate**5)
    assert lr_of['backbone.layers.3.attn.qkv.weight'] == \
        pytest.approx(base * rate)
    assert lr_of['neck.stages.0.1.weight'] == pytest.approx(base)


@pytest.mark.parametrize('config, scope', [(DET, 'mmdet'), (SEG, 'mmseg')])
def test_one_training_iteration(smoke_pretrain_checkpoint, tiny_data,
                                tmp_path, monkeypatch, config, scope):
    import os

    from mmengine.dataset import pseudo_collate
    from mmengine.optim import build_optim_wrapper
    registry = __import__(f'{scope}.registry', fromlist=['DATASETS'])
    os.makedirs(tmp_path / 'data')
    os.symlink(tiny_data, tmp_path / 'data' / 'tiny')
    monkeypatch.chdir(tmp_path)
    cfg, model = build_task_model(config, smoke_pretrain_checkpoint[0],
                                  scope)
    dataset = registry.DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate([dataset[i] for i in range(2)])
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train()
    before = model.backbone.layers[0].attn.qkv.weight.detach().clone()
    losses = model.train_step(batch, optim)
    assert torch.isfinite(losses['loss'])
    assert not torch.equal(before, model.backbone.layers[0].attn.qkv.weight)
