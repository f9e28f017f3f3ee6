"""The coordinate-aware Swin of UM-MAE: shapes, the coordinate bias, the
shift/padding mask, window-size transfer, training switches and lr decay."""
import pytest
import torch
from mmpretrain.registry import MODELS

from backbones.masking.geometry import grid_coords
from backbones.models.encoders.coord_swin import (CoordSwin, PatchMerge,
                                                  shift_mask)

TINY = dict(embed_dims=16, depths=[2, 2, 2, 2], num_heads=[1, 2, 2, 4])


def dense_coords(h: int, w: int) -> torch.Tensor:
    """(1, h, w, 2) (row, col) of a dense grid, as ``forward_tokens`` takes
    them."""
    return grid_coords(1, (h, w)).permute(0, 2, 3, 1).contiguous()


def tiny(**kwargs):
    torch.manual_seed(0)
    kwargs.setdefault('window_size', 4)
    model = CoordSwin(arch=TINY, **kwargs)
    model.init_weights()
    return model.eval()


def compact_coords(batch: int, cells: int, seed: int = 0) -> torch.Tensor:
    """Coordinates of a UM-MAE compacted stage-1 map.

    The image has (2 * cells)² masking patches of 4 x 4 stage-1 tokens; one
    random patch per 2 x 2 cell is kept, and the kept patches form a dense
    (4 * cells)² map whose neighbours across patches are 4-8 tokens apart.
    """
    g = torch.Generator().manual_seed(seed)
    pick = torch.randint(0, 2, (batch, cells, cells, 2), generator=g)
    corner = (dense_coords(cells, cells) * 2 + pick) * 4
    corner = corner.repeat_interleave(4, 1).repeat_interleave(4, 2)
    return corner + dense_coords(4, 4).repeat(1, cells, cells, 1)


@pytest.mark.parametrize('size,out_indices', [
    ((64, 64), (0, 1, 2, 3)), ((96, 128), (1, 3)), ((224, 224), (-1, )),
    ((100, 60), (0, 2))])
def test_output_strides_and_channels(size, out_indices):
    model = tiny(out_indices=out_indices)
    with torch.no_grad():
        outs = model(torch.randn(2, 3, *size))
    side = [(-(-size[0] // 4), -(-size[1] // 4))]
    for _ in range(3):  # odd grids are padded before a merge: ceil
        side.append((-(-side[-1][0] // 2), -(-side[-1][1] // 2)))
    want = [(2, 16 * 2**(i % 4), *side[i % 4]) for i in out_indices]
    assert [tuple(o.shape) for o in outs] == want
    assert all(torch.isfinite(o).all() for o in outs)


def test_avg_featmap_and_registry():
    # scoped: another test may have left mmdet or mmseg as default scope
    model = MODELS.build(dict(type='mmpretrain.CoordSwin', arch=TINY,
                              out_type='avg_featmap'))
    outs = model(torch.randn(2, 3, 64, 64))
    assert len(outs) == 1 and outs[0].shape == (2, 128)
    assert not any(k.startswith(('norm0', 'norm3.'))
                   for k in model.state_dict())


def test_mmdet_scope_builds_it():
    from mmdet.registry import MODELS as DET_MODELS
    model = DET_MODELS.build(dict(type='mmpretrain.CoordSwin', arch=TINY))
    assert isinstance(model, CoordSwin)


def official_keys(depths=(2, 2, 6, 2), heads=(3, 6, 12, 24), dim=96):
    """Key -> shape of the official Swin encoder (models_mae_swin.py)."""
    keys = {'patch_embed.proj.weight': (dim, 3, 4, 4),
            'patch_embed.proj.bias': (dim, ), 'patch_embed.norm.weight':
            (dim, ), 'patch_embed.norm.bias': (dim, )}
    n = 0
    for stage, depth in enumerate(depths):
        c = dim * 2**stage
        for j in range(depth):
            b = f'blocks.{n}.'
            if stage and not j:
                keys.update({b + 'downsample.norm.weight': (c // 2, ),
                             b + 'downsample.norm.bias': (c // 2, ),
                             b + 'downsample.proj.weight': (c, c // 2, 2, 2),
                             b + 'downsample.proj.bias': (c, )})
            keys.update({
                b + 'norm1.weight': (c, ), b + 'norm1.bias': (c, ),
                b + 'attn.posmlp.0.weight': (32, 2, 1, 1),
                b + 'attn.posmlp.0.bias': (32, ),
                b + 'attn.posmlp.2.weight': (heads[stage], 32, 1, 1),
                b + 'attn.posmlp.2.bias': (heads[stage], ),
                b + 'attn.qkv.weight': (3 * c, c),
                b + 'attn.qkv.bias': (3 * c, ),
                b + 'attn.proj.weight': (c, c), b + 'attn.proj.bias': (c, ),
                b + 'norm2.weight': (c, ), b + 'norm2.bias': (c, ),
                b + 'mlp.fc1.weight': (4 * c, c),
                b + 'mlp.fc1.bias': (4 * c, ),
                b + 'mlp.fc2.weight': (c, 4 * c), b + 'mlp.fc2.bias': (c, )})
            n += 1
    keys.update({'norm.weight': (8 * dim, ), 'norm.bias': (8 * dim, )})
    return keys


def test_state_dict_is_the_official_layout():
    model = CoordSwin('tiny', out_type='avg_featmap')
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert ours == official_keys()


def test_dense_grid_path_equals_explicit_coordinates():
    # 48 x 40 px -> 12 x 10 tokens: padding and shifts in stages 1-2,
    # a single window in stages 3-4
    model = tiny()
    x = torch.randn(2, 16, 12, 10)
    with torch.no_grad():
        ref = model.forward_tokens(x)
        per_sample = model.forward_tokens(x, dense_coords(12, 10).expand(
            2, -1, -1, -1))
        shared = model.forward_tokens(x, dense_coords(12, 10))
    for r, a, b in zip(ref, per_sample, shared):
        assert torch.allclose(r, a, atol=1e-5)
        assert torch.allclose(r, b, atol=1e-5)


def test_bias_depends_only_on_coordinates():
    model = tiny()
    x = torch.randn(2, 16, 16, 16)
    pos = compact_coords(2, 4)
    with torch.no_grad():
        out = model.forward_tokens(x, pos)
        moved = model.forward_tokens(x, pos + torch.tensor([7., -3.5]))
        dense = model.forward_tokens(x, dense_coords(16, 16))
        spread = model.forward_tokens(x, dense_coords(16, 16) * 2)
    for a, b in zip(out, moved):  # translation invariant
        assert torch.allclose(a, b, atol=1e-5)
    # the same tokens two apart instead of adjacent: another bias
    assert not torch.allclose(dense[0], spread[0], atol=1e-3)
    assert not torch.allclose(dense[0], out[0], atol=1e-3)
    block = model.blocks[0]
    near = block.attn_bias(dense_coords(4, 4), (4, 4), (4, 4), (4, 4), 0,
                           'cpu')
    far = block.attn_bias(dense_coords(4, 4) * 2, (4, 4), (4, 4), (4, 4), 0,
                          'cpu')
    assert near.shape == (1, 1, 16, 16)
    assert not torch.allclose(near, far)
    # log-spaced offsets sign(d) * log(1 + |d|), d = key - query, into the
    # MLP 2 -> 32 -> heads
    d = dense_coords(4, 4).view(16, 2)
    d = d[None, :] - d[:, None]
    feats = (torch.sign(d) * torch.log1p(d.abs())).permute(2, 0, 1)[None]
    assert torch.allclose(near, block.attn.posmlp(feats), atol=1e-6)


def test_positions_halve_through_merging():
    merge = PatchMerge(8, 16)
    pos = compact_coords(2, 2)
    x, out = merge(torch.randn(2, 8, 8, 8), pos)
    assert x.shape == (2, 4, 4, 16)
    assert torch.equal(out, pos[:, 0::2, 0::2] / 2)
    _, odd = merge(torch.randn(2, 7, 5, 8), pos[:, :7, :5])
    assert odd.shape == (2, 4, 3, 2)

    model = tiny()
    seen = {}
    for i in model.stage_ends:
        model.blocks[i].register_forward_hook(
            lambda m, args, out, i=i: seen.__setitem__(i, out[1]))
    model.forward_tokens(torch.randn(2, 16, 8, 8), pos)
    for stage, i in enumerate(model.stage_ends):
        step = 2**stage
        assert torch.equal(seen[i], pos[:, ::step, ::step] / step)


def test_window_size_change_needs_no_new_parameters():
    small, large = tiny(window_size=4), tiny(window_size=8)
    large.load_state_dict(small.state_dict(), strict=True)
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        outs = large(x)
        assert all(torch.isfinite(o).all() for o in outs)
        # the bias is the same function: a 4-window grid agrees
        assert torch.allclose(large(x[..., :16, :16])[0],
                              small(x[..., :16, :16])[0], atol=1e-5)


def test_with_cp_gives_the_same_output_and_gradients():
    x = torch.randn(2, 3, 64, 64)
    grads = []
    outs = []
    for with_cp in (False, True):
        model = tiny(with_cp=with_cp).train()
        y = model(x)
        sum(o.square().sum() for o in y).backward()
        outs.append(y)
        grads.append([p.grad for p in model.parameters()])
    for a, b in zip(*outs):
        assert torch.allclose(a, b, atol=1e-5)
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-4)


@pytest.mark.parametrize('out_type', ['featmap', 'avg_featmap'])
def test_every_parameter_receives_a_gradient(out_type):
    model = tiny(out_type=out_type).train()
    loss = sum(o.square().mean() for o in model(torch.randn(2, 3, 64, 64)))
    loss.backward()
    assert torch.isfinite(loss)
    # posmlp.2.bias adds one constant per head to every logit of a row,
    # which softmax ignores: its gradient is zero up to rounding (also in
    # the official model), so only its presence is checked
    missing = [n for n, p in model.named_parameters()
               if p.grad is None or not (p.grad.abs().sum()
                                         or n.endswith('posmlp.2.bias'))]
    assert not missing
    # and from the compacted map (what UM-MAE pretraining calls)
    model.zero_grad()
    sum(o.mean() for o in model.forward_tokens(
        torch.randn(2, 16, 16, 16), compact_coords(2, 4))).backward()
    assert all(p.grad is not None for n, p in model.named_parameters()
               if n.startswith('blocks'))


@pytest.mark.parametrize('frozen,trainable_from', [
    (-1, 'patch_embed'), (0, 'blocks.0.'), (2, 'blocks.4.'), (4, None)])
def test_frozen_stages(frozen, trainable_from):
    model = tiny(frozen_stages=frozen, out_type='avg_featmap'
                 if frozen == 4 else 'featmap').train()
    names = [n for n, _ in model.named_parameters()]
    grads = [p.requires_grad for _, p in model.named_parameters()]
    first = names.index(next(n for n in names if n.startswith(
        trainable_from))) if trainable_from else len(names)
    assert not any(grads[:first])
    assert all(g for n, g in zip(names[first:], grads[first:])
               if n.startswith('blocks'))
    if frozen == 2:
        assert not model.norm0.weight.requires_grad \
            and model.norm2.weight.requires_grad
        assert not model.blocks[2].training and model.blocks[4].training
    if frozen == 4:
        assert not model.norm.weight.requires_grad


@pytest.mark.parametrize('kwargs,match', [
    (dict(arch='huge'), "'base', 'l', 'large', 's', 'small', 't', 'tiny'"),
    (dict(arch=dict(embed_dims=16, depths=[2, 2, 2])), 'num_heads'),
    (dict(arch=dict(embed_dims=16, depths=[1, 1, 1],
                    num_heads=[1, 1, 1, 1])), '4 values'),
    (dict(arch=dict(embed_dims=16, depths=[1] * 4, num_heads=[3] * 4)),
     'divisible'),
    (dict(out_indices=(4, )), 'stages 0-3'),
    (dict(out_indices=()), 'stages 0-3'),
    (dict(out_type='cls_token'), "'featmap' or 'avg_featmap'"),
    (dict(frozen_stages=5), r'-1\.\.4'),
    (dict(window_size=0), 'window_size'),
])
def test_bad_arguments_name_the_allowed_values(kwargs, match):
    kwargs.setdefault('arch', TINY)
    with pytest.raises(ValueError, match=match):
        CoordSwin(**kwargs)


def test_bad_token_inputs():
    model = tiny()
    with pytest.raises(ValueError, match=r'\(B, 16, h, w\)'):
        model.forward_tokens(torch.randn(1, 8, 8, 8))
    with pytest.raises(ValueError, match=r'\(2 or 1, 8, 8, 2\)'):
        model.forward_tokens(torch.randn(2, 16, 8, 8), dense_coords(8, 4))


def test_layer_depth_follows_the_official_grouping():
    model = CoordSwin('tiny')
    cases = {'patch_embed.proj.weight': 0, 'blocks.0.norm1.weight': 1,
             'blocks.2.downsample.proj.weight': 3,
             'blocks.5.attn.posmlp.0.bias': 6, 'blocks.11.mlp.fc2.bias': 12,
             'norm3.weight': 13}
    for name, depth in cases.items():
        assert model.get_layer_depth(name) == (depth, 14)
        assert model.get_layer_depth('backbone.' + name,
                                     'backbone.') == (depth, 14)
    assert model.get_layer_depth('head.fc.weight', 'backbone.') == (13, 14)
    # mmpretrain's scale decay ** (num - depth - 1) is util/lr_decay.py's
    # decay ** (len(blocks) + 1 - layer_id) with the same ids
    decay = 0.85
    for name, depth in cases.items():
        official_id = 0 if name.startswith('patch') else (
            int(name.split('.')[1]) + 1 if name.startswith('blocks') else 13)
        assert decay**(14 - depth - 1) == pytest.approx(
            decay**(12 + 1 - official_id))


def reference_allowed(H, W, ws, shift):
    """Swin's shifted-window rule stated directly: two tokens interact when
    they share a window after the roll and neither axis wraps between
    them."""
    pos = dense_coords(H, W)[0].long().view(-1, 2)
    rolled = (pos - shift) % torch.tensor([H, W])
    wrapped = pos < shift
    same_window = ((rolled[:, None] // ws) == (rolled[None] // ws)).all(-1)
    same_side = (wrapped[:, None] == wrapped[None]).all(-1)
    return same_window & same_side, rolled


def test_shift_mask_matches_the_rule():
    H, W, ws, s = 8, 12, 4, 2
    allowed, rolled = reference_allowed(H, W, ws, s)
    mask = shift_mask((H, W), (H, W), (ws, ws), s)[:, 0]
    # window index and position inside the window of each token
    win = (rolled[:, 0] // ws) * (W // ws) + rolled[:, 1] // ws
    idx = (rolled[:, 0] % ws) * ws + rolled[:, 1] % ws
    for i in range(H * W):
        for j in range(H * W):
            if win[i] == win[j]:
                ok = mask[win[i], idx[i], idx[j]] == 0
                assert ok == allowed[i, j], (i, j)


def test_shifted_block_never_crosses_the_rolled_boundary():
    model = tiny()
    block = model.blocks[1]  # a shifted block, window 4, shift 2
    assert block.layout(8, 8) == ((4, 4), 2)
    x = torch.randn(1, 8, 8, 16)
    with torch.no_grad():
        base = block(x, None)[0]
        for (r, c), rows, cols in [((0, 0), range(0, 2), range(0, 2)),
                                   ((3, 3), range(2, 6), range(2, 6)),
                                   ((7, 1), range(6, 8), range(0, 2))]:
            y = x.clone()
            y[0, r, c] = torch.randn(16)
            changed = (block(y, None)[0] - base).abs().amax(-1)[0] > 1e-6
            want = torch.zeros(8, 8, dtype=torch.bool)
            want[rows.start:rows.stop, cols.start:cols.stop] = True
            assert torch.equal(changed, want), (r, c)


def test_padded_keys_are_masked_out():
    # a 4 x 6 grid with window 4: windows of columns 0-3 and 4-7, the
    # latter half padding; each must equal the block on its real tokens
    block = tiny().blocks[0]
    x = torch.randn(2, 4, 6, 16)
    with torch.no_grad():
        full = block(x, None)[0]
        assert torch.allclose(full[:, :, :4], block(x[:, :, :4], None)[0],
                              atol=1e-6)
        assert torch.allclose(full[:, :, 4:], block(x[:, :, 4:], None)[0],
                              atol=1e-6)
        pos = dense_coords(4, 6) + 5
        assert torch.allclose(full, block(x, pos)[0], atol=1e-6)


def test_init_weights_changes_the_weights():
    torch.manual_seed(0)
    model = CoordSwin(arch=TINY)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.init_weights()
    after = model.state_dict()
    for key in ('blocks.0.attn.qkv.weight', 'patch_embed.proj.weight',
                'blocks.2.downsample.proj.weight'):
        assert not torch.equal(before[key], after[key])
    assert not after['blocks.0.attn.qkv.bias'].any()
