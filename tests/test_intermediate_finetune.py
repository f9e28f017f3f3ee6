"""Intermediate fine-tuning: UM-MAE's and SimMIM's dense stages start from
the fine-tuned encoder (implus/UM-MAE DET/SEG configs ``..._200e_100e_...``
load ``finetune_..._200e_100e/checkpoint-99.pth``).

The hand-off is tested as the pipeline does it: the fine-tune stage's
checkpoint (an ImageClassifier state dict saved the way MMEngine saves it)
goes to the dense model's strict ``Pretrained`` init; the classification
head is dropped by the ``backbone.`` prefix, and no backbone key may be
missing beyond the new output norms the protocol names.
"""
import fnmatch
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import CONFIGS, build_model

MMPRETRAIN_SWIN = ('simmim/simmim_mmpretrain-swin-micro_1xb32-coslr-30e_'
                   'tiny-in1k-128px.py')
PROTOCOLS = [
    # (pretraining config whose mimb_downstream is used, family, stages)
    ('um-mae/um-mae_swin-micro_1xb32-coslr-30e_tiny-in1k-128px.py', 'swin',
     ('det', 'seg')),
    ('um-mae/um-mae_pvt-micro_1xb32-coslr-30e_tiny-in1k-128px.py', 'pvt',
     ('det', 'seg')),
    # the reference row's smoke variant starts dense stages from the
    # pretrained encoder (see its config), so its real protocols are used
    ('simmim/simmim_mmpretrain-swin-tiny_8xb512-amp-coslr-200e_in1k-256px'
     '.py', 'mmpretrain-swin-tiny', ('det', )),
]
SCOPES = dict(det='mmdet', seg='mmseg')


def downstream_config(pretrain, stage):
    """Absolute path of a pretraining config's ``stage`` protocol."""
    cfg = Config.fromfile(osp.join(CONFIGS, pretrain))
    return osp.normpath(osp.join(CONFIGS, osp.dirname(pretrain),
                                 cfg.mimb_downstream[stage]))


@pytest.fixture(scope='module', params=PROTOCOLS,
                ids=[p[1] for p in PROTOCOLS])
def finetune_checkpoint(request, tmp_path_factory):
    """(pretraining config, fine-tune checkpoint path, its state dict).

    The fine-tune model with every parameter perturbed (so that a weight
    loaded into the wrong place, or not at all, shows), saved as MMEngine's
    CheckpointHook saves it.
    """
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    import backbones  # noqa: F401  registers the suite's modules
    pretrain, family, _ = request.param
    cfg = Config.fromfile(downstream_config(pretrain, 'finetune'))
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    state_dict = model.state_dict()
    path = str(tmp_path_factory.mktemp(family) / 'epoch_8.pth')
    torch.save(dict(meta=dict(epoch=8, iter=8), state_dict=state_dict),
               path)
    return pretrain, path, state_dict


@pytest.mark.parametrize('stage', ['det', 'seg'])
def test_finetuned_encoder_loads_into_the_dense_backbone(
        finetune_checkpoint, stage):
    pretrain, path, finetuned = finetune_checkpoint
    if stage not in dict((p[0], p[2]) for p in PROTOCOLS)[pretrain]:
        pytest.skip(f'{stage} has the same backbone as det here')
    config = downstream_config(pretrain, stage)
    model = build_model(config, SCOPES[stage], checkpoint=path)
    init = Config.fromfile(config).model.backbone.init_cfg
    new = [k for k in model.backbone.state_dict()
           if any(fnmatch.fnmatchcase(k, p) for p in init.allow_missing)]
    # only the protocol's new output norms and rebuilt index buffers
    assert all(k.startswith(('norm', 'stages')) for k in new), new
    assert any(k.startswith('head.') for k in finetuned)
    for key, value in model.backbone.state_dict().items():
        if key in new:
            continue
        source = finetuned.get(f'backbone.{key}')
        assert source is not None, f'{key} is not in the fine-tuned model'
        if source.shape == value.shape:
            torch.testing.assert_close(value, source, rtol=0, atol=0,
                                       msg=f'{key} differs')
        else:  # a table resized on load (position table, window bias)
            assert key.endswith(('pos_embed', 'relative_position_bias_table'
                                 )), f'{key}: {source.shape} -> {value.shape}'


def test_missing_fine_tuned_key_fails_loudly(finetune_checkpoint, tmp_path):
    from backbones.engine.checkpoint import BackboneKeysError
    pretrain, _, finetuned = finetune_checkpoint
    broken = dict(finetuned)
    del broken[next(k for k in broken if k.startswith('backbone.')
                    and k.endswith('.norm1.weight'))]  # a block's norm
    path = str(tmp_path / 'broken.pth')
    torch.save(dict(state_dict=broken), path)
    with pytest.raises(BackboneKeysError, match='1 missing keys'):
        build_model(downstream_config(pretrain, 'det'), 'mmdet',
                    checkpoint=path)


@pytest.mark.parametrize('config', sorted(
    glob.glob(osp.join(CONFIGS, 'um-mae', '*.py')) +
    glob.glob(osp.join(CONFIGS, 'simmim', '*.py'))), ids=osp.basename)
def test_dense_stages_start_from_the_fine_tuned_encoder(config):
    from benchmarks.stages import STAGES, init_sources
    sources = init_sources(Config.fromfile(config), list(STAGES))
    # the real recipes as published; the smoke variants (UM-MAE Swin's
    # and all that inherit it) from the pretrained encoder, see their note
    dense = 'pretrain' if 'micro' in osp.basename(config) else 'finetune'
    assert sources == dict(finetune='pretrain', linear='pretrain',
                           knn='pretrain', det=dense, seg=dense)


@pytest.mark.parametrize('config', [
    'mae/mae_vit-base-p16_8xb512-amp-coslr-800e_in1k.py',
    'convmae/convmae_convvit-base-p16_8xb384-amp-coslr-1600e_in1k.py',
    'emae/emae_vit-base-p16_8xb512-amp-coslr-300e_in1k.py'])
def test_plain_vit_families_transfer_from_the_pretrained_encoder(config):
    from benchmarks.stages import STAGES, init_sources
    sources = init_sources(Config.fromfile(osp.join(CONFIGS, config)),
                           list(STAGES))
    assert set(sources.values()) == {'pretrain'}
