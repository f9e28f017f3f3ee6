"""CoordPVT, UM-MAE's PVT: the official key layout and shapes of PVT-S, a
forward written from the official code's semantics, dense outputs at several
sizes, the position table's resizing, frozen stages, layer depths and
checkpointing."""
import pytest
import torch
import torch.nn.functional as F

from backbones.models.encoders.coord_pvt import CoordPVT
from backbones.models.selfsup.ummae import UMMAEPVT

PVT_MICRO = dict(embed_dims=[32, 64, 128, 256], depths=[1, 1, 2, 1],
                 num_heads=[1, 2, 4, 8], mlp_ratios=[8, 8, 4, 4])


def official_pvt_small_shapes():
    """Key -> shape of implus/UM-MAE ``mae_pvt_small_256`` (encoder part),
    written from ``MaskedAutoencoderPVT.__init__``."""
    dims, depths, ratios = [64, 128, 320, 512], [3, 4, 6, 3], [8, 8, 4, 4]
    shapes = {'patch_embed.proj.weight': (64, 3, 4, 4),
              'patch_embed.proj.bias': (64, ),
              'pos_embed': (1, 64 * 64, 64),
              'norm.weight': (512, ), 'norm.bias': (512, )}
    n = 0
    for stage, (c, depth, r) in enumerate(zip(dims, depths, ratios)):
        for j in range(depth):
            b = f'blocks.{n}.'
            if stage and not j:
                shapes[b + 'downsample.proj.weight'] = (c, dims[stage - 1],
                                                        2, 2)
                shapes[b + 'downsample.proj.bias'] = (c, )
            for name, w in (('attn.q', (c, c)), ('attn.kv', (2 * c, c)),
                            ('attn.proj', (c, c)), ('mlp.fc1', (r * c, c)),
                            ('mlp.fc2', (c, r * c)),
                            ('attn.sr', (c, c, 1, 1))):
                shapes[f'{b}{name}.weight'] = w
                shapes[f'{b}{name}.bias'] = (w[0], )
            for name in ('norm1', 'norm2', 'attn.norm'):
                shapes[f'{b}{name}.weight'] = shapes[f'{b}{name}.bias'] = (
                    c, )
            n += 1
    return shapes


def test_pvt_small_has_the_official_keys_and_shapes():
    model = UMMAEPVT(arch='small')
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert ours.pop('vis_mask_token') == (1, 64)  # official (1, 1, 64)
    assert ours == official_pvt_small_shapes()
    assert not model.pos_embed.requires_grad  # fixed sin-cos table
    # official eps: nn.LayerNorm's default in the blocks and attention,
    # 1e-6 in the final norm (too small a difference for the forward test)
    eps = {m.eps for n, m in model.named_modules()
           if isinstance(m, torch.nn.LayerNorm) and n.startswith('blocks.')}
    assert eps == {1e-5} and model.norm.eps == 1e-6
    assert model.sr_ratios == (4, 2, 1, 1)
    assert CoordPVT().sr_ratios == (8, 4, 2, 1)


def official_forward(state, x, heads, sr_ratios):
    """Fine-tuned official PVT (``models_pvt.PVT.forward``) from its state
    dict: conv embedding + table, blocks (downsample, LN 1e-5, attention
    over average-pooled keys/values, MLP), mean, ``fc_norm`` (1e-6),
    head."""
    x = F.conv2d(x, state['patch_embed.proj.weight'],
                 state['patch_embed.proj.bias'], stride=4)
    B, C, H, W = x.shape
    x = x.flatten(2).transpose(1, 2) + state['pos_embed']
    n = 0
    while f'blocks.{n}.norm1.weight' in state:
        p = f'blocks.{n}.'

        def ln(t, name, eps=1e-5):
            return F.layer_norm(t, t.shape[-1:], state[p + name + '.weight'],
                                state[p + name + '.bias'], eps)

        def lin(t, name):
            return F.linear(t, state[p + name + '.weight'],
                            state[p + name + '.bias'])

        if p + 'downsample.proj.weight' in state:
            w = state[p + 'downsample.proj.weight']
            x = x.transpose(1, 2).reshape(B, -1, H, W)
            x = F.conv2d(x, w, state[p + 'downsample.proj.bias'], stride=2)
            H, W = x.shape[2:]
            x = x.flatten(2).transpose(1, 2)
        C = x.shape[-1]
        stage = sum(f'blocks.{i}.downsample.proj.weight' in state
                    for i in range(n + 1))
        h, r = heads[stage], sr_ratios[stage]
        y = ln(x, 'norm1')
        q = lin(y, 'attn.q').reshape(B, -1, h, C // h).permute(0, 2, 1, 3)
        kv = F.avg_pool2d(y.transpose(1, 2).reshape(B, C, H, W), r)
        kv = F.conv2d(kv, state[p + 'attn.sr.weight'],
                      state[p + 'attn.sr.bias']).flatten(2).transpose(1, 2)
        kv = lin(ln(kv, 'attn.norm'), 'attn.kv')
        k, v = kv.reshape(B, -1, 2, h, C // h).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1) * (C // h)**-0.5).softmax(-1)
        x = x + lin((attn @ v).transpose(1, 2).reshape(B, -1, C),
                    'attn.proj')
        x = x + lin(F.gelu(lin(ln(x, 'norm2'), 'mlp.fc1')), 'mlp.fc2')
        n += 1
    x = F.layer_norm(x.mean(1), x.shape[-1:], state['fc_norm.weight'],
                     state['fc_norm.bias'], 1e-6)
    return F.linear(x, state['head.weight'], state['head.bias'])


def test_forward_matches_the_official_semantics_through_the_converter():
    from backbones.tools.converters import convert_official_ummae_pvt
    torch.manual_seed(0)
    ref = CoordPVT(arch=PVT_MICRO, pretrain_size=128, out_type='avg_featmap')
    ref.init_weights()
    official = {k: v + 0.01 * torch.randn_like(v)  # not the init's values
                for k, v in ref.state_dict().items()}
    official['fc_norm.weight'] = official.pop('norm.weight')
    official['fc_norm.bias'] = official.pop('norm.bias')
    official['head.weight'] = torch.randn(10, 256) * 0.02
    official['head.bias'] = torch.randn(10) * 0.02
    converted = convert_official_ummae_pvt(official, 'pvt_ft.pth')
    model = CoordPVT(arch=PVT_MICRO, pretrain_size=128,
                     out_type='avg_featmap').eval()
    model.load_state_dict({k[len('backbone.'):]: v
                           for k, v in converted.items()
                           if k.startswith('backbone.')})
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        ours = F.linear(model(x)[0], converted['head.fc.weight'],
                        converted['head.fc.bias'])
        theirs = official_forward(official, x, [1, 2, 4, 8], (8, 4, 2, 1))
    assert torch.allclose(ours, theirs, atol=1e-5), \
        (ours - theirs).abs().max()


@pytest.mark.parametrize('hw', [(64, 64), (96, 128), (200, 328)])
def test_dense_outputs_have_strides_4_to_32(hw):
    model = CoordPVT(arch=PVT_MICRO, pretrain_size=128).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *hw))
    h, w = hw[0] // 4, hw[1] // 4
    for i, (out, c) in enumerate(zip(outs, [32, 64, 128, 256])):
        assert out.shape == (1, c, h, w), i
        h, w = h // 2, w // 2


def test_position_table_resizes_on_load_and_to_every_grid():
    small = CoordPVT(arch=PVT_MICRO, pretrain_size=64)
    small.init_weights()
    big = CoordPVT(arch=PVT_MICRO, pretrain_size=128)
    big.load_state_dict(small.state_dict())  # 16 x 16 table -> 32 x 32
    assert big.pos_embed.shape == (1, 32 * 32, 32)
    table = small.pos_embed.detach().view(1, 16, 16, 32).permute(0, 3, 1, 2)
    expected = F.interpolate(table, size=(32, 32), mode='bicubic',
                             align_corners=False)
    assert torch.allclose(big.position_map(32, 32), expected, atol=1e-6)
    assert torch.equal(small.position_map(16, 16), table)
    assert big.position_map(10, 7).shape == (1, 32, 10, 7)


def test_frozen_stages_layer_depth_checkpointing_and_errors():
    model = CoordPVT(arch=PVT_MICRO, pretrain_size=128, frozen_stages=1,
                     drop_path_rate=0.1)
    model.train()
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {n for n, _ in model.named_parameters()
                      if n.startswith(('patch_embed.', 'pos_embed',
                                       'blocks.0.', 'norm0.'))}
    assert not model.blocks[0].training and model.blocks[1].training
    assert model.get_layer_depth('backbone.pos_embed', 'backbone.') == (0, 7)
    assert model.get_layer_depth('backbone.blocks.1.attn.q.weight',
                                 'backbone.') == (2, 7)
    assert model.get_layer_depth('backbone.norm3.weight',
                                 'backbone.') == (6, 7)
    torch.manual_seed(0)
    plain = CoordPVT(arch=PVT_MICRO, pretrain_size=128, out_type='avg_featmap')
    ckpt = CoordPVT(arch=PVT_MICRO, pretrain_size=128,
                    out_type='avg_featmap', with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    plain(x)[0].sum().backward()
    ckpt.train()(x)[0].sum().backward()
    for (n, a), b in zip(plain.named_parameters(), ckpt.parameters()):
        assert torch.allclose(a.grad, b.grad, atol=1e-6), n
    with pytest.raises(ValueError, match='sr_ratios'):
        CoordPVT(arch=PVT_MICRO, sr_ratios=(8, 4, 2))
    with pytest.raises(ValueError, match='pretrain_size'):
        CoordPVT(arch=PVT_MICRO, pretrain_size=30)
    with pytest.raises(ValueError, match="'huge'"):
        CoordPVT(arch='huge')
