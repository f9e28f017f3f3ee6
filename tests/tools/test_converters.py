"""Official MAE, ConvMAE and UM-MAE (Swin, PVT) checkpoints import into the
suite's layout; anything else is refused."""
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from timm.models.vision_transformer import VisionTransformer as TimmViT

from backbones.engine.checkpoint import BackboneKeysError, load_strict
from backbones.tools.converters import (_BLOCK, convert_official_convmae,
                                        convert_official_mae,
                                        convert_official_ummae_pvt,
                                        convert_official_ummae_swin)
from conftest import SMOKE_PRETRAIN, run_cli

DIM, DEPTH, HEADS, PATCH, SIZE = 64, 4, 4, 4, 32


def official_pretrain_state():
    """What models_mae.MaskedAutoencoderViT saves, at the smoke size: the
    timm encoder (cls token, no head) plus the timm-block decoder."""
    torch.manual_seed(0)
    enc = TimmViT(img_size=SIZE, patch_size=PATCH, embed_dim=DIM,
                  depth=DEPTH, num_heads=HEADS, num_classes=0,
                  qkv_bias=True)
    dec = TimmViT(img_size=SIZE, patch_size=PATCH, embed_dim=DIM, depth=2,
                  num_heads=4, num_classes=0)
    state = {k: v for k, v in enc.state_dict().items()}
    for k, v in dec.state_dict().items():
        if k.startswith('blocks.'):
            state['decoder_' + k] = v
    grid = (SIZE // PATCH)**2
    state.update({
        'mask_token': torch.randn(1, 1, DIM),
        'decoder_embed.weight': torch.randn(DIM, DIM),
        'decoder_embed.bias': torch.randn(DIM),
        'decoder_pos_embed': torch.randn(1, grid + 1, DIM),
        'decoder_norm.weight': torch.randn(DIM),
        'decoder_norm.bias': torch.randn(DIM),
        'decoder_pred.weight': torch.randn(PATCH * PATCH * 3, DIM),
        'decoder_pred.bias': torch.randn(PATCH * PATCH * 3),
    })
    return enc, state


def smoke_mae_model():
    from mmpretrain.registry import MODELS

    import backbones  # noqa: F401
    cfg = Config.fromfile(SMOKE_PRETRAIN)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg.model)


def test_pretrain_checkpoint_fills_the_mae_model_and_matches_timm():
    enc, state = official_pretrain_state()
    converted = convert_official_mae(state)
    model = smoke_mae_model()
    load_strict(model, converted, 'official')  # no missing, no unexpected
    x = torch.randn(2, 3, SIZE, SIZE)
    enc.eval()
    model.eval()
    with torch.no_grad():
        ours = model.backbone(x, mask=None)[0][:, 0]  # cls, final norm
        theirs = enc.forward_features(x)[:, 0]
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_finetuned_checkpoint_maps_fc_norm_and_head():
    enc = TimmViT(img_size=SIZE, patch_size=PATCH, embed_dim=DIM,
                  depth=DEPTH, num_heads=HEADS, num_classes=8,
                  global_pool='avg', fc_norm=True)
    converted = convert_official_mae(enc.state_dict())
    assert {'backbone.ln2.weight', 'head.fc.weight',
            'head.fc.bias'} <= set(converted)
    assert not any(k.startswith('backbone.ln1') for k in converted)


def test_unknown_keys_are_listed():
    _, state = official_pretrain_state()
    state['something.else'] = torch.zeros(1)
    with pytest.raises(BackboneKeysError, match=r"something\.else"):
        convert_official_mae(state, 'x.pth')
    with pytest.raises(BackboneKeysError, match='no encoder blocks'):
        convert_official_mae({'cls_token': torch.zeros(1)}, 'y.pth')


def test_cli_writes_a_loadable_checkpoint(tmp_path):
    _, state = official_pretrain_state()
    torch.save({'model': state}, tmp_path / 'mae_pretrain.pth')
    run_cli([sys.executable, '-m', 'benchmarks.convert', 'mae',
             str(tmp_path / 'mae_pretrain.pth'), str(tmp_path / 'ours.pth')])
    from backbones.engine.compat import safe_torch_load
    ckpt = safe_torch_load(str(tmp_path / 'ours.pth'))
    assert 'backbone.layers.3.ffn.layers.1.weight' in ckpt['state_dict']
    torch.save({'model': {'foo': torch.zeros(1)}}, tmp_path / 'bad.pth')
    proc = run_cli([sys.executable, '-m', 'benchmarks.convert', 'mae',
                    str(tmp_path / 'bad.pth'), str(tmp_path / 'no.pth')],
                   check=False)
    assert proc.returncode == 1 and "'foo'" in proc.stderr
    assert not (tmp_path / 'no.pth').exists()


# ConvMAE (Alpha-VL/ConvMAE): the official key layout at the smoke size,
# filled with random tensors of the official shapes.
C_DIMS, C_DEPTHS, C_HEADS, C_SIZE = (32, 48, 64), (1, 1, 2), 4, 64


def official_convmae_state(finetuned=False):
    gen = torch.Generator().manual_seed(0)

    def t(*shape):
        return torch.randn(*shape, generator=gen) * 0.2

    state, in_ch = {}, 3
    for i, (dim, stride) in enumerate(zip(C_DIMS, (4, 2, 2)), 1):
        state.update({
            f'patch_embed{i}.proj.weight': t(dim, in_ch, stride, stride),
            f'patch_embed{i}.proj.bias': t(dim),
            f'patch_embed{i}.norm.weight': 1 + t(dim),
            f'patch_embed{i}.norm.bias': t(dim)})
        in_ch = dim
    for i, dim in enumerate(C_DIMS[:2], 1):
        for j in range(C_DEPTHS[i - 1]):
            p = f'blocks{i}.{j}.'
            for name, shape in (('conv1', (dim, dim, 1, 1)),
                                ('attn', (dim, 1, 5, 5)),
                                ('conv2', (dim, dim, 1, 1)),
                                ('mlp.fc1', (4 * dim, dim, 1, 1)),
                                ('mlp.fc2', (dim, 4 * dim, 1, 1))):
                state[p + name + '.weight'] = t(*shape)
                state[p + name + '.bias'] = t(shape[0])
            for name in ('norm1', 'norm2'):
                state[p + name + '.weight'] = 1 + t(dim)
                state[p + name + '.bias'] = t(dim)
    dim = C_DIMS[2]
    grid = (C_SIZE // 16)**2
    state.update({'patch_embed4.weight': t(dim, dim),
                  'patch_embed4.bias': t(dim), 'pos_embed': t(1, grid, dim)})
    for j in range(C_DEPTHS[2]):
        p = f'blocks3.{j}.'
        for name, shape in (('attn.qkv', (3 * dim, dim)),
                            ('attn.proj', (dim, dim)),
                            ('mlp.fc1', (4 * dim, dim)),
                            ('mlp.fc2', (dim, 4 * dim))):
            state[p + name + '.weight'] = t(*shape)
            state[p + name + '.bias'] = t(shape[0])
        for name in ('norm1', 'norm2'):
            state[p + name + '.weight'] = 1 + t(dim)
            state[p + name + '.bias'] = t(dim)
    if finetuned:  # models_convvit.ConvViT(global_pool=True)
        state.update({'fc_norm.weight': 1 + t(dim), 'fc_norm.bias': t(dim),
                      'head.weight': t(8, dim), 'head.bias': t(8)})
        return state
    state.update({'norm.weight': 1 + t(dim), 'norm.bias': t(dim),
                  'stage1_output_decode.weight': t(dim, C_DIMS[0], 4, 4),
                  'stage1_output_decode.bias': t(dim),
                  'stage2_output_decode.weight': t(dim, C_DIMS[1], 2, 2),
                  'stage2_output_decode.bias': t(dim)})
    # the MAE decoder (64-d, 2 blocks as the smoke config), no cls row
    _, mae = official_pretrain_state()
    state.update({k: v for k, v in mae.items()
                  if k.startswith(('decoder_', 'mask_token'))})
    state['decoder_pos_embed'] = t(1, grid, DIM)
    state['decoder_pred.weight'] = t(16 * 16 * 3, DIM)
    state['decoder_pred.bias'] = t(16 * 16 * 3)
    return state


def official_convvit_tokens(sd, x):
    """Stage-3 tokens of the official ConvViT, written from the ConvMAE
    paper and SPEC (conv -> LN -> GELU embeds; conv blocks
    x + conv2(dw5x5(conv1(LN x))), x + MLP(LN x); patch_embed4 before the
    position table; LN eps 1e-5 in stages 1-2, 1e-6 in stage 3)."""
    F = torch.nn.functional

    def ln2d(v, p, eps=1e-5):
        v = v.permute(0, 2, 3, 1)
        v = F.layer_norm(v, v.shape[-1:], sd[p + '.weight'], sd[p + '.bias'],
                         eps)
        return v.permute(0, 3, 1, 2)

    def conv(v, p, **kw):
        return F.conv2d(v, sd[p + '.weight'], sd[p + '.bias'], **kw)

    def lin(v, p):
        return F.linear(v, sd[p + '.weight'], sd[p + '.bias'])

    for i, stride in ((1, 4), (2, 2)):
        x = F.gelu(ln2d(conv(x, f'patch_embed{i}.proj', stride=stride),
                        f'patch_embed{i}.norm'))
        for j in range(C_DEPTHS[i - 1]):
            p = f'blocks{i}.{j}.'
            y = conv(ln2d(x, p + 'norm1'), p + 'conv1')
            y = conv(y, p + 'attn', padding=2, groups=y.shape[1])
            x = x + conv(y, p + 'conv2')
            y = conv(F.gelu(conv(ln2d(x, p + 'norm2'), p + 'mlp.fc1')),
                     p + 'mlp.fc2')
            x = x + y
    x = F.gelu(ln2d(conv(x, 'patch_embed3.proj', stride=2),
                    'patch_embed3.norm'))
    x = lin(x.flatten(2).transpose(1, 2), 'patch_embed4') + sd['pos_embed']
    B, N, C = x.shape
    for j in range(C_DEPTHS[2]):
        p = f'blocks3.{j}.'
        y = F.layer_norm(x, (C, ), sd[p + 'norm1.weight'],
                         sd[p + 'norm1.bias'], 1e-6)
        q, k, v = lin(y, p + 'attn.qkv').view(B, N, 3, C_HEADS, -1).permute(
            2, 0, 3, 1, 4)
        att = (q @ k.transpose(-2, -1) * q.shape[-1]**-0.5).softmax(-1)
        x = x + lin((att @ v).transpose(1, 2).reshape(B, N, C),
                    p + 'attn.proj')
        y = F.layer_norm(x, (C, ), sd[p + 'norm2.weight'],
                         sd[p + 'norm2.bias'], 1e-6)
        x = x + lin(F.gelu(lin(y, p + 'mlp.fc1')), p + 'mlp.fc2')
    return x


def build_config_model(path):
    from mmpretrain.registry import MODELS

    import backbones  # noqa: F401
    cfg = Config.fromfile(path)
    cfg.model.backbone.pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg.model).eval()


def test_convmae_pretrain_checkpoint_fills_the_model_and_matches_official():
    from conftest import CONFIGS
    state = official_convmae_state()
    converted = convert_official_convmae(state, 'convmae_base.pth')
    model = build_config_model(
        f'{CONFIGS}/convmae/convmae_convvit-tiny_1xb32-coslr-30e_tiny-in1k'
        '-64px.py')
    load_strict(model, converted, 'official')  # no missing, no unexpected
    x = torch.randn(2, 3, C_SIZE, C_SIZE)
    with torch.no_grad():
        ours = model.backbone(x, mask=None)[0]  # (B, C, 4, 4), final norm
        tokens = official_convvit_tokens(state, x)
        theirs = torch.nn.functional.layer_norm(
            tokens, (tokens.shape[-1], ), state['norm.weight'],
            state['norm.bias'], 1e-6)
    assert torch.allclose(ours.flatten(2).transpose(1, 2), theirs,
                          atol=1e-5)


def test_convmae_finetuned_checkpoint_loads_into_the_classifier():
    from conftest import CONFIGS
    state = official_convmae_state(finetuned=True)
    converted = convert_official_convmae(state)
    model = build_config_model(
        f'{CONFIGS}/benchmarks/convvit/'
        'convvit-tiny_1xb32-coslr-8e_tiny-in1k-64px.py')
    load_strict(model, converted, 'official')
    x = torch.randn(2, 3, C_SIZE, C_SIZE)
    F = torch.nn.functional
    with torch.no_grad():
        pooled = F.layer_norm(official_convvit_tokens(state, x).mean(1),
                              (C_DIMS[2], ), state['fc_norm.weight'],
                              state['fc_norm.bias'], 1e-6)
        logits = F.linear(pooled, state['head.weight'], state['head.bias'])
        ours = model(x, mode='tensor')
    assert torch.allclose(ours, logits, atol=1e-5)


def test_convmae_converter_refuses_other_layouts():
    state = official_convmae_state()
    state['rel_pos_bias.relative_position_bias_table'] = torch.zeros(1)
    with pytest.raises(BackboneKeysError, match='relative_position_bias'):
        convert_official_convmae(state, 'det.pth')
    _, mae = official_pretrain_state()
    with pytest.raises(BackboneKeysError, match=r"'blocks\.0\.norm1"):
        convert_official_convmae(mae, 'mae.pth')


# UM-MAE Swin (implus/UM-MAE): the encoder keys are the official ones
# (tests/models/test_coord_swin.py checks them against the official naming);
# the decoder is timm blocks plus decoder_embed / decoder_pred / decoder_norm.
UMMAE_MICRO = 'um-mae/um-mae_swin-micro_1xb32-coslr-30e_tiny-in1k-128px.py'
UMMAE_PVT_MICRO = \
    'um-mae/um-mae_pvt-micro_1xb32-coslr-30e_tiny-in1k-128px.py'


def official_ummae_state(model):
    """Our UM-MAE smoke model's weights under the official names."""
    to_official = {dst: src for src, dst in _BLOCK}
    state = {}
    for key, value in model.state_dict().items():
        if key.startswith('backbone.'):
            key = key[len('backbone.'):]
            if key == 'vis_mask_token':
                value = value.view(1, 1, -1)
        else:
            key = key[len('neck.'):]
            if key.startswith('ln1.'):
                key = 'decoder_norm.' + key[len('ln1.'):]
            for ours, theirs in to_official.items():
                key = key.replace(ours, theirs)
        state[key] = value
    return state


def test_ummae_swin_checkpoint_round_trips_into_the_model():
    from conftest import CONFIGS
    model = build_config_model(f'{CONFIGS}/{UMMAE_MICRO}')
    official = official_ummae_state(model)
    assert 'blocks.0.attn.posmlp.0.weight' in official
    assert 'decoder_blocks.0.mlp.fc2.weight' in official
    converted = convert_official_ummae_swin(official, 'ummae.pth')
    load_strict(model, converted, 'official')
    for key, value in model.state_dict().items():
        assert torch.equal(value, converted[key]), key


def test_ummae_swin_finetuned_checkpoint_and_refusals():
    from conftest import CONFIGS
    model = build_config_model(f'{CONFIGS}/{UMMAE_MICRO}')
    official = {k: v for k, v in official_ummae_state(model).items()
                if not k.startswith(('decoder_', 'mask_token', 'vis_mask'))}
    official['fc_norm.weight'] = official.pop('norm.weight')
    official['fc_norm.bias'] = official.pop('norm.bias')
    official.update({'head.weight': torch.zeros(8, 256),
                     'head.bias': torch.zeros(8)})
    converted = convert_official_ummae_swin(official)
    assert {'backbone.norm.weight', 'head.fc.weight'} <= set(converted)
    official['norm.weight'] = official['fc_norm.weight']
    with pytest.raises(BackboneKeysError, match='ambiguous'):
        convert_official_ummae_swin(official, 'both.pth')
    with pytest.raises(BackboneKeysError, match=r"'pos_embed'"):
        convert_official_ummae_swin({'pos_embed': torch.zeros(1)}, 'pvt.pth')


def test_ummae_pvt_checkpoint_round_trips_and_other_layouts_are_refused():
    """The PVT's encoder keys are the official ones (checked against the
    official shapes in tests/models/test_coord_pvt.py); decoder as the
    Swin's."""
    from conftest import CONFIGS
    model = build_config_model(f'{CONFIGS}/{UMMAE_PVT_MICRO}')
    official = official_ummae_state(model)
    assert {'pos_embed', 'blocks.0.attn.sr.weight',
            'blocks.1.downsample.proj.weight'} <= set(official)
    converted = convert_official_ummae_pvt(official, 'ummae_pvt.pth')
    load_strict(model, converted, 'official')
    for key, value in model.state_dict().items():
        assert torch.equal(value, converted[key]), key
    swin = official_ummae_state(build_config_model(f'{CONFIGS}/{UMMAE_MICRO}'))
    with pytest.raises(BackboneKeysError, match='posmlp'):
        convert_official_ummae_pvt(swin, 'swin.pth')
    with pytest.raises(BackboneKeysError, match='attn.sr'):
        convert_official_ummae_swin(official, 'pvt.pth')


def test_cli_offers_every_converter(tmp_path):
    from benchmarks.convert import CONVERTERS
    assert set(CONVERTERS) == {'mae', 'convmae', 'ummae-swin', 'ummae-pvt',
                               'simmim-swin', 'simmim-pvt'}
    from conftest import CONFIGS
    model = build_config_model(f'{CONFIGS}/{UMMAE_PVT_MICRO}')
    torch.save({'model': official_ummae_state(model)}, tmp_path / 'pvt.pth')
    run_cli([sys.executable, '-m', 'benchmarks.convert', 'ummae-pvt',
             str(tmp_path / 'pvt.pth'), str(tmp_path / 'ours.pth')])
    assert (tmp_path / 'ours.pth').exists()
