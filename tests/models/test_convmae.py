"""ConvMAE: block-wise masks, the masked convolution's no-leak guarantee,
the ConvViT encoder for every task, the loss, and the checkpoint hand-off
from pretraining to classification, detection and segmentation."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from backbones.engine.checkpoint import BackboneKeysError
from backbones.masking import block_masks, upsample_mask
from backbones.models.encoders.convvit import (ConvBlock, ConvViT,
                                               RelPosBiasTable)
from backbones.models.selfsup.convmae import ConvMAEViT
from conftest import CONFIGS, build_model

TINY = dict(embed_dims=[32, 48, 64], depths=[1, 1, 2], num_heads=4,
            mlp_ratios=[4, 4, 4])
SMOKE = f'{CONFIGS}/convmae/convmae_convvit-tiny_1xb32-coslr-30e_tiny-in1k' \
    '-64px.py'
BENCH = f'{CONFIGS}/benchmarks/convvit'
FINETUNE = f'{BENCH}/convvit-tiny_1xb32-coslr-8e_tiny-in1k-64px.py'
LINEAR = f'{BENCH}/convvit-tiny_1xb32-linear-coslr-30e_tiny-in1k-64px.py'
DET = f'{BENCH}/mask-rcnn_convvit-tiny-fpn_1xb2-6e_tiny-coco-128px.py'
SEG = f'{BENCH}/upernet_convvit-tiny_1xb4-300i_tiny-ade20k-64x64.py'


def test_upsampled_masks_agree_between_stages():
    grid = (6, 10)
    mask = block_masks(2, grid, 0.75,
                       generator=torch.Generator().manual_seed(1))['mask']
    m2, m1 = upsample_mask(mask, grid, 2), upsample_mask(mask, grid, 4)
    assert m2.shape == (2, 1, 12, 20) and m1.shape == (2, 1, 24, 40)
    # each stage-3 token is a constant 2x2 (stage 2) / 4x4 (stage 1) block
    pool = torch.nn.functional.max_pool2d
    assert torch.equal(pool(m1, 4).flatten(1), mask)
    assert torch.equal(-pool(-m1, 4).flatten(1), mask)
    assert torch.equal(pool(m1, 2), m2) and torch.equal(-pool(-m1, 2), m2)
    with pytest.raises(ValueError, match='grid'):
        upsample_mask(mask, (5, 10), 2)


def tiny_encoder(**kwargs):
    torch.manual_seed(0)
    model = ConvMAEViT(arch=TINY, img_size=64, **kwargs)
    model.init_weights()
    return model.eval()


def test_hidden_pixels_never_reach_the_encoder_output():
    """Changing every pixel inside hidden 16 x 16 blocks leaves the latent
    of the visible tokens bit-identical; changing a visible pixel does not.
    """
    model = tiny_encoder()
    x = torch.randn(2, 3, 64, 64)
    noise = torch.rand(2, 16, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        latent, mask, _ = model(x, mask=noise)
        hidden = upsample_mask(mask, (4, 4), 16).bool().expand_as(x)
        y = torch.where(hidden, torch.randn_like(x) * 5, x)
        latent_y, mask_y, _ = model(y, mask=noise)
        assert torch.equal(mask, mask_y)
        assert torch.equal(latent, latent_y)
        z = x.clone()
        z[~hidden] += 1.0  # the visible pixels
        assert not torch.allclose(model(z, mask=noise)[0], latent)


def test_without_the_masked_convolution_hidden_blocks_would_leak():
    """The control for the test above: the same block without the visible
    mask lets a hidden neighbour change a visible position."""
    block = ConvBlock(8).eval()
    x = torch.randn(1, 8, 8, 8)
    visible = torch.ones(1, 1, 8, 8)
    visible[..., 4:, :] = 0
    y = x.clone()
    y[..., 4:, :] += 3.0
    with torch.no_grad():
        assert torch.equal(block(x, visible)[..., :4, :],
                           block(y, visible)[..., :4, :])
        assert not torch.equal(block(x)[..., :4, :], block(y)[..., :4, :])


@pytest.mark.parametrize('hw', [(64, 64), (96, 128), (224, 160)])
def test_dense_outputs_have_strides_4_to_32(hw):
    model = ConvViT(arch=TINY, img_size=64, window_size=4,
                    global_attn_indexes=(1, ), use_rel_pos=True).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *hw))
    for out, stride, ch in zip(outs, (4, 8, 16, 32), (32, 48, 64, 64)):
        assert out.shape == (1, ch, hw[0] // stride, hw[1] // stride)
    with pytest.raises(ValueError, match='multiples of 16'):
        model(torch.randn(1, 3, 72, 64))


def test_classification_outputs_and_argument_errors():
    x = torch.randn(2, 3, 64, 64)
    assert ConvViT(arch=TINY, img_size=64, out_type='avg_featmap')(
        x)[0].shape == (2, 64)
    assert ConvViT(arch=TINY, img_size=64, out_indices=(1, ))(
        x)[0].shape == (2, 48, 8, 8)
    with pytest.raises(ValueError, match="'huge' is not in"):
        ConvViT(arch='huge')
    with pytest.raises(ValueError, match='must be a dict with the keys'):
        ConvViT(arch=dict(embed_dims=[8, 8, 8]))
    with pytest.raises(ValueError, match='levels 0-3'):
        ConvViT(arch=TINY, out_indices=(4, ))
    with pytest.raises(ValueError, match='outside the 2 stage-3 blocks'):
        ConvViT(arch=TINY, global_attn_indexes=(2, ))
    with pytest.raises(ValueError, match='window_size, use_rel_pos'):
        ConvMAEViT(arch=TINY, img_size=64, window_size=4)


def test_bias_table_rows_follow_the_official_offset_index():
    """Row of offset (dy, dx) on an H x W grid, written out for 2 x 3:
    (dy + 1) * 5 + dx + 2; the same index as mmpretrain's BEiT
    RelativePositionBias (the official DET formula) at 4 x 4."""
    from mmpretrain.models.backbones.beit import RelativePositionBias
    table = RelPosBiasTable((2, 3), num_heads=1)
    with torch.no_grad():
        table.relative_position_bias_table.copy_(
            torch.arange(15.).view(15, 1))
    tokens = [(r, c) for r in range(2) for c in range(3)]
    expected = torch.tensor([[(qr - kr + 1) * 5 + qc - kc + 2
                              for kr, kc in tokens] for qr, qc in tokens])
    assert torch.equal(table((2, 3))[0].long(), expected)
    # a 1 x 2 grid uses the rows of its own offsets
    assert table((1, 2))[0].long().tolist() == [[7, 6], [8, 7]]
    beit = RelativePositionBias((4, 4), 1, with_cls_token=False)
    square = RelPosBiasTable((4, 4), num_heads=1)
    with torch.no_grad():
        square.relative_position_bias_table.copy_(
            torch.arange(49.).view(49, 1))
    assert torch.equal(square((4, 4))[0].long(),
                       beit.relative_position_index)
    assert square((6, 5)).shape == (1, 30, 30)  # larger grid: resized


def test_bias_tables_shared_by_windowed_and_global_blocks_or_per_block():
    torch.manual_seed(0)
    arch = dict(TINY, depths=[1, 1, 4])
    model = ConvViT(arch=arch, img_size=64, window_size=2,
                    global_attn_indexes=(0, 2), shared_rel_pos_bias=True)
    names = [n for n, _ in model.named_parameters() if 'rel_pos' in n]
    assert names == ['windowed_rel_pos_bias.relative_position_bias_table',
                     'global_rel_pos_bias.relative_position_bias_table']
    assert model.windowed_rel_pos_bias.relative_position_bias_table.shape \
        == (9, 4)
    assert model.global_rel_pos_bias.relative_position_bias_table.shape \
        == (49, 4)
    seen = []
    for block in model.blocks3:
        block.register_forward_pre_hook(
            lambda mod, args: seen.append((mod.window_size, args[2])))
    x = torch.randn(1, 3, 64, 64)
    base = model(x)[2]
    assert [w for w, _ in seen] == [0, 2, 0, 2]
    assert seen[0][1] is seen[2][1] and seen[1][1] is seen[3][1]
    assert seen[0][1].shape == (4, 16, 16) and seen[1][1].shape == (4, 4, 4)
    base.sum().backward()
    for name in names:
        assert model.get_parameter(name).grad.abs().sum() > 0, name
    with torch.no_grad():
        model.windowed_rel_pos_bias.relative_position_bias_table.add_(1.)
        model.windowed_rel_pos_bias.relative_position_bias_table[4] += 1.
    assert not torch.allclose(model(x)[2], base)
    per_block = ConvViT(arch=arch, img_size=64, window_size=2,
                        global_attn_indexes=(0, 2), block_rel_pos_bias=True)
    tables = [b.rel_pos_table.relative_position_bias_table
              for b in per_block.blocks3]
    assert [t.shape[0] for t in tables] == [49, 9, 49, 9]
    assert len({id(t) for t in tables}) == 4
    per_block(x)[2].sum().backward()
    assert all(t.grad.abs().sum() > 0 for t in tables)
    assert per_block.get_layer_depth(
        'backbone.blocks3.2.rel_pos_table.relative_position_bias_table',
        'backbone.') == (3, 6)
    only_windows = ConvViT(arch=TINY, img_size=64, window_size=2,
                           shared_rel_pos_bias=True)
    assert only_windows.global_rel_pos_bias is None
    with pytest.raises(ValueError, match='exclude each other'):
        ConvViT(arch=TINY, use_rel_pos=True, shared_rel_pos_bias=True)
    with pytest.raises(ValueError, match='exclude each other'):
        ConvViT(arch=TINY, block_rel_pos_bias=True, shared_rel_pos_bias=True)
    for option in ('shared_rel_pos_bias', 'block_rel_pos_bias'):
        with pytest.raises(ValueError, match=option):
            ConvMAEViT(arch=TINY, img_size=64, **{option: True})


def test_layer_scale_of_one_leaves_the_pretrained_function():
    """Official SEG's init_values=1: the gammas start at 1, so a pretrained
    encoder computes the same features with and without them."""
    torch.manual_seed(0)
    plain = ConvViT(arch=TINY, img_size=64).eval()
    scaled = ConvViT(arch=TINY, img_size=64,
                     layer_scale_init_value=1.0).eval()
    missing = scaled.load_state_dict(plain.state_dict(), strict=False)
    assert sorted(missing.missing_keys) == [
        f'blocks3.{i}.{n}.weight' for i in range(2)
        for n in ('attn.gamma1', 'ffn.gamma2')]
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(scaled(x)[2], plain(x)[2], atol=1e-6)
        scaled.blocks3[1].ffn.gamma2.weight.mul_(0.5)
        assert not torch.allclose(scaled(x)[2], plain(x)[2], atol=1e-4)
    assert scaled.get_layer_depth('backbone.blocks3.1.attn.gamma1.weight',
                                  'backbone.') == (2, 4)


def test_checkpointing_frozen_stages_and_layer_depth():
    x = torch.randn(2, 3, 64, 64)
    torch.manual_seed(0)
    plain = ConvViT(arch=TINY, img_size=64, drop_path_rate=0.).train()
    torch.manual_seed(0)
    ckpt = ConvViT(arch=TINY, img_size=64, with_cp=True).train()
    assert torch.allclose(plain(x)[2], ckpt(x)[2], atol=1e-6)
    frozen = ConvViT(arch=TINY, img_size=64, frozen_stages=3,
                     out_type='avg_featmap', final_norm=True).train()
    assert not any(p.requires_grad for p in frozen.parameters())
    assert not frozen.blocks3.training
    depth = plain.get_layer_depth
    assert depth('backbone.blocks1.0.attn.weight', 'backbone.') == (0, 4)
    assert depth('backbone.patch_embed4.weight', 'backbone.') == (0, 4)
    assert depth('backbone.blocks3.1.ln1.weight', 'backbone.') == (2, 4)
    assert depth('head.fc.weight', 'backbone.') == (3, 4)


def test_loss_is_finite_and_every_parameter_learns():
    import backbones  # noqa: F401
    torch.manual_seed(0)
    model = build_model(SMOKE, 'mmpretrain').train()
    loss = model.loss(torch.randn(4, 3, 64, 64), None)['loss']
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    idle = [n for n, p in model.named_parameters()
            if p.requires_grad and (p.grad is None or not p.grad.any())]
    assert idle == []
    assert not model.backbone.pos_embed.requires_grad  # fixed sin-cos


@pytest.fixture(scope='module')
def convmae_checkpoint(tmp_path_factory):
    import backbones  # noqa: F401
    torch.manual_seed(0)
    model = build_model(SMOKE, 'mmpretrain')
    path = tmp_path_factory.mktemp('ckpt') / 'epoch_30.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path), model.state_dict()


@pytest.mark.parametrize('config, scope', [
    (FINETUNE, 'mmpretrain'), (LINEAR, 'mmpretrain'), (DET, 'mmdet'),
    (SEG, 'mmseg')])
def test_pretrained_encoder_loads_into_every_task(convmae_checkpoint, config,
                                                  scope):
    path, pretrained = convmae_checkpoint
    model = build_model(config, scope, path)
    new = ('fc_norm', 'windowed_rel_pos_bias', 'global_rel_pos_bias')
    state = model.backbone.state_dict()
    if scope == 'mmdet':  # the official shared tables, zero at the start
        assert not state['windowed_rel_pos_bias.relative_position_bias_table'
                         ].any()
        assert not any('.rel_pos_' in k for k in state)
    if scope == 'mmseg':  # layer scale 1 and a bias table per block
        assert torch.equal(state['blocks3.1.ffn.gamma2.weight'],
                           torch.ones(64))
        assert state['blocks3.1.rel_pos_table.relative_position_bias_table'
                     ].shape == (49, 4)
    for key, value in state.items():
        if key.startswith(new) or '.rel_pos_' in key or '.gamma' in key:
            continue
        if key == 'pos_embed' and scope == 'mmdet':  # 4x4 grid -> 8x8
            assert value.shape == (1, 64, 64)
            continue
        assert torch.equal(value, pretrained['backbone.' + key]), key


def test_checkpoint_of_another_encoder_is_refused_with_the_keys(tmp_path):
    import backbones  # noqa: F401
    cfg = Config.fromfile(SMOKE)
    cfg.model.backbone.arch.depths = [1, 1, 1]  # no stage-3 block 1
    from mmpretrain.registry import MODELS
    path = str(tmp_path / 'other.pth')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.save({'state_dict': MODELS.build(cfg.model).state_dict()},
                   path)
    with pytest.raises(BackboneKeysError) as info:
        build_model(DET, 'mmdet', path)
    assert 'blocks3.1.' in str(info.value) and 'other.pth' in str(info.value)
