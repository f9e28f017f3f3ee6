"""Reconstruction pictures: the views of MAE, EMAE and SimMIM, the PNG grid
and the `mimb-recon` command on a saved checkpoint."""
import io
import os
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS
from PIL import Image

import backbones  # noqa: F401 (registers EMAE)
from backbones.masking.simmim import simmim_mask
from backbones.tools.reconstruction import (GAP, HEADER, column_names, paste,
                                            reconstruct, reconstruction_png,
                                            render_grid, to_uint8)
from conftest import CONFIGS, SMOKE_PRETRAIN, patch_constant, run_cli

EMAE_SMOKE = osp.join(CONFIGS, 'emae',
                      'emae_vit-tiny-p4_1xb32-coslr-30e_tiny-in1k-32px.py')
PREPROCESSOR = dict(type='SelfSupDataPreprocessor',
                    mean=[123.675, 116.28, 103.53],
                    std=[58.395, 57.12, 57.375], to_rgb=True)
SIMMIM = dict(
    type='SimMIM', data_preprocessor=PREPROCESSOR,
    backbone=dict(type='SimMIMSwinTransformer', img_size=32,
                  arch=dict(embed_dims=16, depths=[1, 1], num_heads=[2, 2]),
                  out_indices=(1, ),
                  stage_cfgs=dict(block_cfgs=dict(window_size=4))),
    neck=dict(type='SimMIMLinearDecoder', in_channels=32, encoder_stride=8),
    head=dict(type='SimMIMHead', patch_size=4,
              loss=dict(type='PixelReconstructionLoss', criterion='L1',
                        channel=3)))
SIMMIM_MASK = dict(mask_patch_size=8, mask_ratio=0.5)


def build(model_cfg):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_cfg)
        model.init_weights()
    return model.eval()


def from_config(path):
    cfg = Config.fromfile(path)
    cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    return build(cfg.model)


@pytest.fixture(scope='module')
def models():
    torch.manual_seed(0)
    return dict(mae=from_config(SMOKE_PRETRAIN), emae=from_config(EMAE_SMOKE),
                simmim=build(SIMMIM))


@pytest.fixture(scope='module')
def inputs():
    return torch.randn(2, 3, 32, 32,
                       generator=torch.Generator().manual_seed(1))


def views_of(models, name, inputs, seed=0):
    mask_cfg = SIMMIM_MASK if name == 'simmim' else None
    return reconstruct(models[name], inputs, seed=seed,
                       simmim_mask_cfg=mask_cfg)


@pytest.mark.parametrize('name,num_views,hidden,block',
                         [('mae', 1, 0.75, 4), ('emae', 4, 0.75, 4),
                          ('simmim', 1, 0.5, 8)])
def test_views_masks_and_predictions(models, inputs, name, num_views,
                                     hidden, block):
    views = views_of(models, name, inputs)
    assert len(views) == num_views
    for view in views:
        mask, recon = view['mask'], view['recon']
        assert mask.shape == (2, 1, 32, 32) and recon.shape == (2, 3, 32, 32)
        assert set(mask.unique().tolist()) == {0.0, 1.0}
        assert mask.mean((1, 2, 3)).tolist() == [hidden, hidden]
        assert patch_constant(mask, block)
        assert torch.isfinite(recon).all()


def test_emae_parts_are_disjoint_and_cover_the_image(models, inputs):
    views = views_of(models, 'emae', inputs)
    visible = sum(1 - view['mask'] for view in views)
    assert (visible == 1).all()  # every pixel visible in exactly one part


@pytest.mark.parametrize('norm_pix', [True, False])
def test_perfect_prediction_gives_back_the_input(models, inputs, norm_pix,
                                                 monkeypatch):
    """The prediction is un-normalised with the target patches' statistics:
    predicting the norm_pix target exactly reconstructs the input."""
    model = models['mae']
    monkeypatch.setattr(model.head, 'norm_pix', norm_pix)
    target = model.head.construct_target(inputs)
    monkeypatch.setattr(model.neck, 'forward', lambda latent, ids: target)
    recon = reconstruct(model, inputs)[0]['recon']
    assert torch.allclose(recon, inputs, atol=1e-4)


def test_simmim_uses_the_pipeline_mask(models, inputs):
    from mmpretrain.structures import DataSample
    mask = simmim_mask(2, 32, 4, 16, 0.25,
                       torch.Generator().manual_seed(3))
    samples = [DataSample(mask=m.numpy()) for m in mask]
    view = reconstruct(models['simmim'], inputs, samples)[0]
    expected = mask.repeat_interleave(4, 1).repeat_interleave(4, 2)
    assert torch.equal(view['mask'][:, 0], expected.float())


@pytest.mark.parametrize('name', ['mae', 'emae', 'simmim'])
def test_pasted_reconstruction_keeps_visible_pixels(models, inputs, name):
    model = models[name]
    mean, std = model.data_preprocessor.mean, model.data_preprocessor.std
    views = views_of(models, name, inputs)
    grid = render_grid(inputs, views, mean.flatten(), std.flatten(),
                       min_tile=32)
    original = to_uint8(inputs, mean.flatten(), std.flatten())
    for k, view in enumerate(views):
        visible = ~view['mask'].bool().expand_as(inputs)
        assert torch.equal(paste(inputs, view)[visible], inputs[visible])
        x = GAP + (2 + 2 * k) * (32 + GAP)  # column 'recon k'
        for i in range(2):
            y = HEADER + GAP + i * (32 + GAP)
            tile = grid[y:y + 32, x:x + 32]
            seen = visible[i, 0].numpy()
            assert np.array_equal(tile[seen], original[i][seen])


def test_same_seed_same_png_and_caller_rng_untouched(models, inputs):
    state = torch.get_rng_state()
    first = reconstruction_png(models['emae'], inputs, seed=0)
    assert torch.equal(torch.get_rng_state(), state)
    assert reconstruction_png(models['emae'], inputs, seed=0) == first
    assert reconstruction_png(models['emae'], inputs, seed=1) != first
    from_generator = torch.Generator().manual_seed(5)
    again = torch.Generator().manual_seed(5)
    assert reconstruction_png(models['mae'], inputs, seed=from_generator) \
        == reconstruction_png(models['mae'], inputs, seed=again)


@pytest.mark.parametrize('name,with_pred,columns',
                         [('mae', False, 3), ('mae', True, 4),
                          ('emae', False, 9), ('simmim', False, 3)])
def test_png_is_valid_with_expected_size(models, inputs, name, with_pred,
                                         columns):
    png = reconstruction_png(models[name], inputs, with_pred=with_pred,
                             simmim_mask_cfg=SIMMIM_MASK)
    assert png.startswith(b'\x89PNG\r\n\x1a\n')
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        assert image.format == 'PNG' and image.mode == 'RGB'
        # 32 px images enlarged 3x to 96 px tiles
        assert image.size == (columns * 98 + 2, HEADER + 2 * 98 + 2)
    assert len(column_names(4 if name == 'emae' else 1,
                            with_pred)) == columns


def test_unnormalise_and_channel_order():
    mean, std = torch.tensor([10., 20., 30.]), torch.tensor([2., 2., 2.])
    x = torch.tensor([1., 2., 3.]).view(1, 3, 1, 1)
    assert to_uint8(x, mean, std)[0, 0, 0].tolist() == [12, 24, 36]
    assert to_uint8(x, mean, std, bgr=True)[0, 0, 0].tolist() == [36, 24, 12]


def test_unsupported_model_is_a_type_error(inputs):
    with pytest.raises(TypeError, match=r'Linear.*MAE, EMAE, SimMIM'):
        reconstruct(torch.nn.Linear(2, 2), inputs)


class OwnMethod(torch.nn.Module):
    """A model that masks by itself (as ConvMAE and UM-MAE do)."""

    def __init__(self, bad=False):
        super().__init__()
        self.bad = bad

    def reconstruct(self, inputs):
        b, _, h, w = inputs.shape
        mask = (torch.rand(b, 1, h, w) > 0.5).float()
        if self.bad:
            mask = mask[:, :, :-1]
        return [dict(mask=mask, recon=inputs.flip(1))]


def test_a_models_own_method_is_used_seeded_and_checked(inputs):
    views = reconstruct(OwnMethod(), inputs, seed=4)
    assert torch.equal(views[0]['recon'], inputs.flip(1))
    assert torch.equal(views[0]['mask'],
                       reconstruct(OwnMethod(), inputs, seed=4)[0]['mask'])
    with pytest.raises(ValueError, match='OwnMethod.reconstruct.. view 0'):
        reconstruct(OwnMethod(bad=True), inputs)


def test_test_time_pipeline_of_a_pretraining_config():
    from benchmarks.recon import test_time_pipeline
    pipeline = test_time_pipeline(Config.fromfile(SMOKE_PRETRAIN))
    assert [t['type'] for t in pipeline] == ['LoadImageFromFile',
                                             'ResizeEdge', 'CenterCrop',
                                             'PackInputs']
    assert pipeline[1]['scale'] == 37 and pipeline[2]['crop_size'] == 32


def test_cli_on_a_saved_checkpoint(models, tiny_data, tmp_path):
    os.makedirs(tmp_path / 'data')
    os.symlink(tiny_data, tmp_path / 'data' / 'tiny')
    ckpt = tmp_path / 'emae.pth'
    torch.save({'state_dict': models['emae'].state_dict()}, ckpt)
    proc = run_cli([sys.executable, '-m', 'benchmarks.recon', EMAE_SMOKE,
                    str(ckpt), '--num-images', '3', '--seed', '2'],
                   cwd=str(tmp_path))
    out = tmp_path / 'reconstruction.png'  # next to the checkpoint
    assert str(out) in proc.stdout
    with Image.open(out) as image:
        assert image.size == (9 * 98 + 2, HEADER + 3 * 98 + 2)


def test_cli_errors_name_the_file(tmp_path, capsys):
    from benchmarks.recon import main
    with pytest.raises(SystemExit) as exit_info:
        main([SMOKE_PRETRAIN, str(tmp_path / 'missing.pth')])
    assert exit_info.value.code == 2
    assert 'missing.pth does not exist' in capsys.readouterr().err
    bad = tmp_path / 'bad_config.py'
    bad.write_text('model = dict(\n')
    ckpt = tmp_path / 'x.pth'
    torch.save({'state_dict': {}}, ckpt)
    assert main([str(bad), str(ckpt)]) == 1
    assert f'cannot read config {bad}' in capsys.readouterr().err
    assert main([SMOKE_PRETRAIN, str(ckpt), '--out',
                 str(tmp_path / 'x.png')]) == 1
    err = capsys.readouterr().err
    assert f'cannot load {ckpt}' in err and 'missing keys' in err
    with pytest.raises(SystemExit) as exit_info:
        main(['--help'])
    assert exit_info.value.code == 0
    assert 'mimb-recon' in capsys.readouterr().out
