"""Parity with the official code on identical weights, images and masks.

``tests/data/parity/*.pt`` were written by ``tools/make_parity_records.py``
from the official repositories (commits in ``records.json``): tiny models
with perturbed weights, their checkpoint in the official layout, the
images, the mask randomness and the official latent, prediction and loss.
Here each checkpoint goes through ``mimb-convert`` (SimMIM: through its
converter functions, for which ``mimb-convert`` has no format yet) into
the suite's model, the masks are replayed (explicit noise where the model
takes it, else the seed the noise was drawn with, and the replayed masks
are checked), and latent, prediction and loss must agree to 1e-5; one
weight tensor scaled by 1.001 must break the agreement.
"""
import json
import os.path as osp

import pytest
import torch
from mmengine.registry import DefaultScope

from backbones.engine.checkpoint import BackboneKeysError, load_strict
from backbones.engine.compat import safe_torch_load
from backbones.tools.converters import (convert_official_simmim_pvt,
                                        convert_official_simmim_swin)
from benchmarks.convert import main as mimb_convert
from conftest import REPO

RECORDS = osp.join(REPO, 'tests', 'data', 'parity')
TOL = 1e-5
MAE_HEAD = dict(type='MAEPretrainHead', norm_pix=True,
                loss=dict(type='PixelReconstructionLoss', criterion='L2'))


def vit_model(kind):
    """The suite's MAE / EMAE (sc_weight 0: the mean over parts of MAE's
    loss) at the records' size: ViT 32-d x 2 on 32 px, patch 8."""
    backbone = dict(type='EMAEViT' if kind == 'emae' else 'MAEViT',
                    arch=dict(embed_dims=32, num_layers=2, num_heads=4,
                              feedforward_channels=128),
                    img_size=32, patch_size=8, mask_ratio=0.75)
    model = dict(type='MAE', backbone=backbone, neck=dict(
        type='MAEPretrainDecoder', num_patches=16, patch_size=8,
        embed_dim=32, decoder_embed_dim=16, decoder_depth=2,
        decoder_num_heads=4, mlp_ratio=4), head=dict(MAE_HEAD, patch_size=8))
    return dict(model, type='EMAE', sc_weight=0.) if kind == 'emae' \
        else model


def pyramid_model(kind):
    """The suite's UM-MAE on the coordinate-aware Swin or the PVT,
    official decoder positions, at the records' size (128 px)."""
    if kind == 'swin':
        backbone = dict(type='UMMAESwin', window_size=4, arch=dict(
            embed_dims=4, depths=[2, 2, 2, 1], num_heads=[1, 1, 2, 2]))
    else:
        backbone = dict(type='UMMAEPVT', pretrain_size=128,
                        sr_ratios=(4, 2, 1, 1), arch=dict(
                            embed_dims=[4, 8, 16, 32], depths=[2, 2, 2, 1],
                            num_heads=[1, 1, 2, 2], mlp_ratios=[8, 8, 4, 4]))
    return dict(type='UMMAE', backbone=dict(
        backbone, mask_patch_size=16, secondary_ratio=0.25), neck=dict(
        type='UMMAEDecoder', in_channels=32, num_patches=64, patch_size=16,
        decoder_embed_dim=16, decoder_depth=1, decoder_num_heads=2,
        mlp_ratio=4, position_pairing='official'),
        head=dict(MAE_HEAD, patch_size=16))


def simmim_model(kind):
    """The suite's SimMIM on the coordinate-aware Swin or the PVT at the
    records' size (128 px; narrow last stages)."""
    if kind == 'swin':
        backbone, width = dict(
            type='SimMIMCoordSwin', window_size=4, arch=dict(
                embed_dims=3, depths=[2, 2, 2, 1], num_heads=[1, 1, 2, 2])), 24
    else:
        backbone, width = dict(type='SimMIMCoordPVT', pretrain_size=128,
                               arch=dict(embed_dims=[4, 8, 16, 16],
                                         depths=[2, 2, 2, 1],
                                         num_heads=[1, 1, 2, 2],
                                         mlp_ratios=[8, 8, 4, 4])), 16
    return dict(type='SimMIM', backbone=backbone, neck=dict(
        type='SimMIMLinearDecoder', in_channels=width, encoder_stride=32),
        head=dict(type='SimMIMHead', patch_size=4, loss=dict(
            type='PixelReconstructionLoss', criterion='L1', channel=3)))


CONVMAE = dict(type='MAE', backbone=dict(
    type='ConvMAEViT', img_size=224, mask_ratio=0.75, arch=dict(
        embed_dims=[8, 16, 32], depths=[1, 1, 2], num_heads=4,
        mlp_ratios=[4, 4, 4])), neck=dict(
    type='ConvMAEDecoder', num_patches=196, patch_size=16, embed_dim=32,
    decoder_embed_dim=16, decoder_depth=1, decoder_num_heads=4,
    mlp_ratio=4), head=dict(MAE_HEAD, patch_size=16))


def run_vit(model, x, rec):
    """MAE / EMAE: the masks replay from the seed the noise was drawn
    with (mmpretrain's ``MAEViT`` draws ``torch.rand(B, L)`` itself)."""
    torch.manual_seed(rec['config']['seed'])
    latent, mask, ids_restore = model.backbone(x)
    pred = model.neck(latent, ids_restore)
    torch.manual_seed(rec['config']['seed'])
    loss = model.loss(x, [])
    loss = loss['loss_rec'] if 'loss_rec' in loss else loss['loss']
    return dict(mask=mask, latent=latent, pred=pred, loss=loss)


def run_convmae(model, x, rec):
    """ConvMAE: the stage-3 mask replays from the recorded noise."""
    latent, mask, ids_restore = model.backbone(x, mask=rec['noise'])
    pred = model.neck(latent, ids_restore)
    return dict(mask=mask, latent=latent, pred=pred,
                loss=model.head.loss(pred, x, mask))


def run_ummae(model, x, rec):
    """UM-MAE: the official uniform mask as noise whose minimum in each
    2 x 2 cell is the visible patch; the secondary mask from the seed of
    the cell noise the official noise was built from. The official
    prediction lists the visible tokens (cell order) and then the hidden
    patches (raster order); ours is in raster order with the official
    pairing's k-th visible token at the k-th visible patch."""
    mask = rec['mask']
    b, length = mask.shape
    half = int(length**.5) // 2
    noise = mask.view(b, half, 2, half, 2).permute(0, 1, 3, 2, 4).reshape(
        b, half, half, 4).float()
    torch.manual_seed(rec['config']['seed'])
    out = model.backbone.encode(x, noise)
    assert torch.equal(out['secondary'], rec['secondary'])
    pred = model.neck(out['latent'], out['choice'])
    order = torch.cat([pred[~mask].view(b, -1, pred.shape[-1]),
                       pred[mask].view(b, -1, pred.shape[-1])], 1)
    return dict(mask=out['mask'].bool(),
                latent=out['latent'].flatten(2).transpose(1, 2),
                pred=order, loss=model.head.loss(pred, x, out['mask']))


def run_simmim(model, x, rec):
    """SimMIM: the official 16 px patch mask as a stride-4 token mask;
    the predicted image cut into the official (B, L, 16 * 16 * 3) patch
    vectors (row, column, channel)."""
    mask = rec['mask']
    b, length = mask.shape
    side = int(length**.5)
    tokens = mask.view(b, side, side).repeat_interleave(4, 1)
    tokens = tokens.repeat_interleave(4, 2).float()
    latent = model.backbone(x, tokens)[0]
    image = model.neck(latent)
    patches = image.view(b, 3, side, 16, side, 16).permute(0, 2, 4, 3, 5, 1)
    return dict(mask=mask, latent=latent.flatten(2).transpose(1, 2),
                pred=patches.reshape(b, length, -1),
                loss=model.head.loss(image, x, tokens))


CASES = {
    'mae': ('mae', vit_model('mae'), run_vit,
            'backbone.layers.1.ffn.layers.1.weight'),
    'emae': ('mae', vit_model('emae'), run_vit,
             'backbone.layers.1.ffn.layers.1.weight'),
    'convmae': ('convmae', CONVMAE, run_convmae,
                'backbone.blocks1.0.conv1.weight'),
    'ummae_swin': ('ummae-swin', pyramid_model('swin'), run_ummae,
                   'backbone.blocks.6.mlp.fc2.weight'),
    'ummae_pvt': ('ummae-pvt', pyramid_model('pvt'), run_ummae,
                  'backbone.blocks.6.mlp.fc2.weight'),
    'simmim_swin': ('simmim-swin', simmim_model('swin'), run_simmim,
                    'backbone.blocks.6.mlp.fc2.weight'),
    'simmim_pvt': ('simmim-pvt', simmim_model('pvt'), run_simmim,
                   'backbone.blocks.6.mlp.fc2.weight'),
}


def converted(name, tmp_path):
    """The record and its checkpoint converted by ``mimb-convert``."""
    rec = safe_torch_load(osp.join(RECORDS, f'{name}.pt'))
    fmt = CASES[name][0]
    src, dst = tmp_path / f'{name}_official.pth', tmp_path / f'{name}.pth'
    torch.save({'model': rec['state_dict']}, src)
    assert mimb_convert([fmt, str(src), str(dst)]) == 0
    return rec, safe_torch_load(str(dst))['state_dict']


def suite_model(name, state):
    """The suite's model of a record with the converted weights."""
    from mmpretrain.registry import MODELS

    import backbones  # noqa: F401  registers the suite's modules
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(CASES[name][1]).eval()
    load_strict(model, state, name)
    return model


def differences(model, name, rec):
    """Max |ours - official| of latent, prediction and loss."""
    x = rec['images'].float() / 255
    with torch.no_grad():
        ours = CASES[name][2](model, x, rec)
    assert torch.equal(ours['mask'], rec['mask']), 'masks not replayed'
    ours['pred'] = ours['pred'][..., rec['pred_index']]
    return {key: (ours[key] - rec[key]).abs().max().item()
            for key in ('latent', 'pred', 'loss')}


@pytest.mark.parametrize('name', sorted(CASES))
def test_matches_official_and_one_weight_off_fails(name, tmp_path):
    rec, state = converted(name, tmp_path)
    model = suite_model(name, state)
    diff = differences(model, name, rec)
    assert max(diff.values()) <= TOL, diff
    # negative control: one weight tensor 0.1% off
    with torch.no_grad():
        model.state_dict()[CASES[name][3]].mul_(1.001)
    diff = differences(model, name, rec)
    assert max(diff.values()) > TOL, diff


def test_records_name_their_official_commit():
    with open(osp.join(RECORDS, 'records.json')) as f:
        index = json.load(f)
    assert set(index) == set(CASES)
    for name, entry in index.items():
        assert len(entry['commit']) == 40 and entry['repo'], name
        assert osp.getsize(osp.join(RECORDS, entry['file'])) < 1024**2


def test_simmim_converters_refuse_the_ummae_layout():
    for name, convert in (('ummae_swin', convert_official_simmim_swin),
                          ('ummae_pvt', convert_official_simmim_pvt)):
        state = safe_torch_load(osp.join(RECORDS, f'{name}.pt'))['state_dict']
        with pytest.raises(BackboneKeysError, match='decoder_embed'):
            convert(state, name)
