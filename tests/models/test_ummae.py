"""UM-MAE (on the coordinate-aware Swin and on the PVT) and its matched
SimMIM: hidden patches never reach the encoder, the decoder's official
and per-patch position pairings, losses and gradients, and the checkpoint
hand-off to every protocol of the encoder's family."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from backbones.masking.uniform import uniform_masks, visible_index
from backbones.models.decoders import UMMAEDecoder
from backbones.models.selfsup.ummae import UMMAEPVT, UMMAESwin
from conftest import CONFIGS, build_model

MICRO = dict(embed_dims=32, depths=[1, 1, 2, 1], num_heads=[1, 2, 4, 8])
PVT_MICRO = dict(MICRO, embed_dims=[32, 64, 128, 256],
                 mlp_ratios=[8, 8, 4, 4])
UMMAE = f'{CONFIGS}/um-mae/um-mae_swin-micro_1xb32-coslr-30e_tiny-in1k' \
    '-128px.py'
UMMAE_PVT = f'{CONFIGS}/um-mae/um-mae_pvt-micro_1xb32-coslr-30e_tiny-in1k' \
    '-128px.py'
SIMMIM = f'{CONFIGS}/simmim/simmim_swin-micro_1xb32-coslr-30e_tiny-in1k' \
    '-128px.py'
SIMMIM_PVT = f'{CONFIGS}/simmim/simmim_pvt-micro_1xb32-coslr-30e_tiny-in1k' \
    '-128px.py'
PRETRAIN = [UMMAE, UMMAE_PVT, SIMMIM, SIMMIM_PVT]
PRETRAIN_IDS = ['um-mae-swin', 'um-mae-pvt', 'simmim-swin', 'simmim-pvt']


SCOPES = dict(finetune='mmpretrain', linear='mmpretrain', det='mmdet',
              seg='mmseg')


def tasks(config):
    """The smoke protocols a pretraining config declares in its
    ``mimb_downstream``: (config, scope) per stage."""
    folder = osp.dirname(config)
    downstream = Config.fromfile(config).mimb_downstream
    return {stage: (osp.normpath(osp.join(folder, downstream[stage])), scope)
            for stage, scope in SCOPES.items()}


@pytest.fixture(params=['swin', 'pvt'])
def encoder(request):
    torch.manual_seed(0)
    model = UMMAESwin(arch=MICRO) if request.param == 'swin' else UMMAEPVT(
        arch=PVT_MICRO, pretrain_size=128)
    model.init_weights()
    return model.eval()


def test_encoder_output_and_replayed_masks(encoder):
    model = encoder
    x = torch.randn(2, 3, 128, 128)
    noise = torch.rand(2, 4, 4, 4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        latent, mask, choice = model(x, mask=noise)
    assert latent.shape == (2, 256, 2, 2)
    assert torch.equal(mask, uniform_masks(2, (8, 8), noise=noise)['mask'])
    assert choice.shape == (2, 4, 4)
    with pytest.raises(ValueError, match='multiples of 64'):
        model(torch.randn(1, 3, 96, 96))
    with pytest.raises(ValueError, match='mask_patch_size'):
        type(model)(arch=model.arch_settings, mask_patch_size=12)


def test_hidden_and_secondary_patches_never_reach_the_encoder(encoder):
    model = encoder
    x = torch.randn(2, 3, 128, 128)
    noise = torch.rand(2, 4, 4, 4, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.manual_seed(7)  # the secondary mask
        latent, mask, _ = model(x, mask=noise)
        hidden = mask.view(2, 1, 8, 8).repeat_interleave(
            16, 2).repeat_interleave(16, 3).bool().expand_as(x)
        y = torch.where(hidden, torch.randn_like(x) * 3, x)
        torch.manual_seed(7)
        assert torch.equal(model(y, mask=noise)[0], latent)
        torch.manual_seed(7)
        z = torch.where(hidden, x, x + 1)  # every visible pixel
        assert not torch.allclose(model(z, mask=noise)[0], latent)


def decoder_slots(dec, latent, choice):
    """Where each cell-ordered visible token sat in the decoder input:
    (B, cells) slot indices, from a hook on the first block."""
    seen = {}
    hook = dec.decoder_blocks[0].register_forward_pre_hook(
        lambda mod, args: seen.update(x=args[0]))
    with torch.no_grad():
        dec(latent, choice)
    hook.remove()
    tokens = seen['x'] - dec.decoder_pos_embed  # B L D
    expanded = dec.expand(dec.decoder_embed(latent.permute(0, 2, 3, 1))
                          .permute(0, 3, 1, 2)).flatten(2).transpose(1, 2)
    # token k is found where the input minus the position is token k
    dist = torch.cdist(expanded, tokens)  # B cells L
    assert dist.min(-1).values.max() < 1e-5
    return dist.argmin(-1)


@pytest.mark.parametrize('pairing', ['official', 'per-patch'])
def test_decoder_pairing_on_a_hand_written_4x4_grid(pairing):
    """A 64 px image: a 4 x 4 masking grid, 2 x 2 cells, one stage-4 token.

    Cells in raster order (0, 0), (0, 1), (1, 0), (1, 1) keep offsets
    3, 0, 1, 2 (2 * row + col inside the cell), i.e. the patches
    (1, 1), (0, 2), (2, 1), (3, 2) = 5, 2, 9, 14 in raster numbering.
    Per patch, token k sits at its own patch: 5, 2, 9, 14. Officially,
    token k gets the k-th visible position in raster order
    (``decoder_pos_embed[~mask]``): 2, 5, 9, 14.
    """
    torch.manual_seed(0)
    dec = UMMAEDecoder(in_channels=8, num_patches=16, decoder_embed_dim=8,
                       decoder_num_heads=2, position_pairing=pairing)
    dec.init_weights()
    choice = torch.tensor([[[3, 0], [1, 2]]])
    slots = decoder_slots(dec, torch.randn(1, 8, 1, 1), choice)
    expected = {'official': [2, 5, 9, 14], 'per-patch': [5, 2, 9, 14]}
    assert slots.tolist() == [expected[pairing]]


def test_official_pairing_equals_the_official_sequence_construction():
    """The official decoder input, built as it is stated (visible tokens
    plus the raster-ordered visible positions, then mask tokens plus the
    hidden positions, concatenated), gives the same hidden-patch
    predictions; the per-patch pairing does not."""
    torch.manual_seed(0)
    dec = UMMAEDecoder(in_channels=32, num_patches=64, decoder_embed_dim=16,
                       decoder_num_heads=2).eval()
    dec.init_weights()
    latent = torch.randn(2, 32, 2, 2)
    drawn = uniform_masks(2, (8, 8),
                          generator=torch.Generator().manual_seed(5))
    hidden = drawn['mask'].bool()  # B 64, raster order
    with torch.no_grad():
        ours = dec(latent, drawn['choice'])[hidden].view(2, 48, -1)
        x = dec.decoder_embed(latent.permute(0, 2, 3, 1))
        x = dec.expand(x.permute(0, 3, 1, 2)).flatten(2).transpose(1, 2)
        pos = dec.decoder_pos_embed.expand(2, -1, -1)
        seq = torch.cat([x + pos[~hidden].view(2, 16, 16),
                         dec.mask_token + pos[hidden].view(2, 48, 16)], 1)
        for block in dec.decoder_blocks:
            seq = block(seq)
        official = dec.decoder_pred(dec.decoder_norm(seq))[:, 16:]
        dec.position_pairing = 'per-patch'
        per_patch = dec(latent, drawn['choice'])[hidden].view(2, 48, -1)
    assert torch.allclose(ours, official, atol=1e-5)
    assert not torch.allclose(per_patch, official, atol=1e-3)
    with pytest.raises(ValueError, match='position_pairing'):
        UMMAEDecoder(position_pairing='raster')


def test_per_patch_pairing_puts_each_visible_token_at_its_own_patch():
    torch.manual_seed(0)
    dec = UMMAEDecoder(in_channels=256, num_patches=64, decoder_embed_dim=16,
                       decoder_num_heads=2, position_pairing='per-patch')
    dec.init_weights()
    seen = {}
    dec.decoder_blocks[0].register_forward_pre_hook(
        lambda mod, args: seen.update(x=args[0]))
    latent = torch.randn(2, 256, 2, 2)
    choice = uniform_masks(2, (8, 8),
                           generator=torch.Generator().manual_seed(3))[
                               'choice']
    assert dec(latent, choice).shape == (2, 64, 16 * 16 * 3)
    tokens = seen['x'] - dec.decoder_pos_embed  # (2, 64, 16)
    expanded = dec.expand(dec.decoder_embed(latent.permute(0, 2, 3, 1))
                          .permute(0, 3, 1, 2)).flatten(2).transpose(1, 2)
    index = visible_index(choice)
    assert torch.allclose(tokens.gather(1, index[..., None].expand(
        -1, -1, 16)), expanded, atol=1e-6)
    hidden = torch.ones(2, 64, dtype=torch.bool)
    hidden.scatter_(1, index, False)
    assert torch.allclose(tokens[hidden],
                          dec.mask_token.view(1, 16).expand(96, 16),
                          atol=1e-6)


def simmim_samples(n, seed=0):
    from mmpretrain.structures import DataSample
    gen = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(n):
        cells = (torch.rand(8, 8, generator=gen) < 0.75).float()
        sample = DataSample()
        sample.set_mask(cells.repeat_interleave(4, 0).repeat_interleave(
            4, 1))
        samples.append(sample)
    return samples


@pytest.mark.parametrize('config', PRETRAIN, ids=PRETRAIN_IDS)
def test_loss_is_finite_and_every_parameter_learns(config):
    torch.manual_seed(0)
    model = build_model(config, 'mmpretrain').train()
    x = torch.randn(4, 3, 128, 128)
    loss = model.loss(x, simmim_samples(4))['loss']
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    idle = [n for n, p in model.named_parameters()
            if p.requires_grad and p.grad is None]
    assert idle == []


@pytest.fixture(scope='module', params=PRETRAIN, ids=PRETRAIN_IDS)
def pretrain_checkpoint(request, tmp_path_factory):
    torch.manual_seed(0)
    model = build_model(request.param, 'mmpretrain')
    path = tmp_path_factory.mktemp('ckpt') / 'epoch_30.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path), model.state_dict(), tasks(request.param)


@pytest.mark.parametrize('stage', ['finetune', 'linear', 'det', 'seg'])
def test_pretrained_encoder_loads_into_every_task(pretrain_checkpoint,
                                                  stage):
    path, pretrained, protocols = pretrain_checkpoint
    model = build_model(*protocols[stage], path)
    for key, value in model.backbone.state_dict().items():
        if key[:5] in ('norm0', 'norm1', 'norm2', 'norm3'):
            continue  # new output norms of the dense protocols
        assert torch.equal(value, pretrained['backbone.' + key]), key


def test_reconstruction_picture_greys_out_uniform_and_secondary_masks():
    from backbones.tools.reconstruction import reconstruct
    model = build_model(UMMAE, 'mmpretrain')
    x = torch.randn(2, 3, 128, 128)
    views = reconstruct(model, x, seed=0)
    assert len(views) == 1 and views[0]['recon'].shape == x.shape
    hidden = views[0]['mask']  # 48 uniform + 4 secondary of 64 patches
    assert torch.equal(hidden.mean((1, 2, 3)), torch.full((2, ), 52 / 64))
    assert torch.equal(reconstruct(model, x, seed=0)[0]['mask'], hidden)


@pytest.mark.parametrize('config', PRETRAIN, ids=PRETRAIN_IDS)
def test_one_iteration_through_the_config_data_pipeline(
        config, tiny_data, tmp_path, monkeypatch):
    """The configs' own pipelines (SimMIM's masks included) feed a step."""
    import os

    from mmengine.dataset import default_collate
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS
    os.makedirs(tmp_path / 'data')
    os.symlink(tiny_data, tmp_path / 'data' / 'tiny')
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(config)
    model = build_model(config, 'mmpretrain')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = default_collate([dataset[i] for i in range(2)])  # the configs'
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    losses = model.train_step(batch, optim)
    assert torch.isfinite(losses['loss'])


def test_decoder_linears_start_xavier_uniform_as_official():
    # implus/UM-MAE models_mae_swin.py _init_weights: xavier_uniform_ on
    # every nn.Linear of the model (decoder included), zero bias
    dec = UMMAEDecoder(in_channels=256, num_patches=64, decoder_embed_dim=16,
                       decoder_depth=1, decoder_num_heads=2)
    dec.init_weights()
    linears = [m for m in dec.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 6  # embed, qkv, proj, 2 ffn, pred
    for m in linears:
        fan_out, fan_in = m.weight.shape
        bound = (6 / (fan_in + fan_out))**.5
        assert m.weight.abs().max() <= bound
        assert m.weight.abs().max() > 0.9 * bound
        assert not m.bias.any()
