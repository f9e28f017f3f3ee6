"""The eps of every LayerNorm of every encoder and decoder of the suite.

Eps is not stored in the weights, so neither a converter nor a key check
can catch a wrong one; this test states the official value of each norm,
module by module, with the official file and line it comes from
(implus/UM-MAE cb7776b, Alpha-VL/ConvMAE 4c97b4c, facebookresearch/mae
efb2a80). Every model is built from the suite's configs as the pipeline
builds it; every LayerNorm of its encoder (and of its pretraining decoder)
must match exactly one rule, and every rule must match a module.

The dense (Mask R-CNN / UperNet) backbones keep the eps of the encoder the
suite hands them (the fine-tuning ``models_swin.py`` / ``models_pvt.py``
values); the official ``DET``/``SEG`` copies build their Swin with plain
``nn.LayerNorm`` everywhere (DET/swin.py:225, SEG/swin.py:33) and their
output norms ``up{k}.0`` with eps 1e-5 (DET/swin.py:270, DET/pvt.py:70).
"""
import os.path as osp
import re

import pytest
from torch import nn

from conftest import CONFIGS

# facebookresearch/mae: the ViT blocks, the final norm and the decoder use
# norm_layer = partial(nn.LayerNorm, eps=1e-6) (models_mae.py:227 for
# ViT-B, passed at models_mae.py:40, 42, 54, 57; models_vit.py:59, 30).
MAE_VIT = [
    (r'backbone\.layers\.\d+\.ln[12]', 1e-6),  # models_mae.py:40
    (r'backbone\.ln1', 1e-6),  # models_mae.py:42 (encoder norm)
]
MAE_DECODER = [
    (r'neck\.decoder_blocks\.\d+\.ln[12]', 1e-6),  # models_mae.py:54
    (r'neck\.ln1', 1e-6),  # models_mae.py:57 (decoder_norm)
]
VITDET = [
    (r'backbone\.layers\.\d+\.ln[12]', 1e-6),  # models_mae.py:40
]

# Alpha-VL/ConvMAE: PatchEmbed.norm and the CBlock norms are plain
# nn.LayerNorm (vision_transformer.py:187, 106, 113), the stage-3 Block
# norms and the final norm get norm_layer = partial(nn.LayerNorm,
# eps=1e-6) (models_convmae.py:245, passed at :52, :54; models_convvit.py
# :56, :25 for fc_norm).
CONVVIT_CONV = [
    (r'backbone\.patch_embed[123]\.norm', 1e-5),  # vision_transformer.py:187
    (r'backbone\.blocks[12]\.\d+\.norm[12]', 1e-5),  # vision_transformer:106
    (r'backbone\.blocks3\.\d+\.ln[12]', 1e-6),  # models_convmae.py:52
]
CONVMAE_PRETRAIN = CONVVIT_CONV + [
    (r'backbone\.norm', 1e-6),  # models_convmae.py:54
    (r'neck\.decoder_blocks\.\d+\.ln[12]', 1e-6),  # models_convmae.py:64
    (r'neck\.ln1', 1e-6),  # models_convmae.py:67 (decoder_norm)
]
CONVVIT_FINETUNE = CONVVIT_CONV + [
    (r'backbone\.fc_norm', 1e-6),  # models_convvit.py:25
]

# implus/UM-MAE Swin: PatchEmbed, PatchMerge and the final norm get the
# model's norm_layer = partial(nn.LayerNorm, eps=1e-6)
# (models_mae_swin.py:557, passed at :305, :341, :346; models_swin.py:125,
# :39, :72, :80), but SwinBlock is built without norm_layer
# (models_mae_swin.py:326-343, models_swin.py:57-75,
# models_simmim_swin.py:60-76), so norm1/norm2 are its default
# nn.LayerNorm (models_mae_swin.py:152, :168, :173): eps 1e-5.
SWIN_BODY = [
    (r'backbone\.patch_embed\.norm', 1e-6),  # models_mae_swin.py:273, 305
    (r'backbone\.blocks\.\d+\.norm[12]', 1e-5),  # models_mae_swin.py:168
    (r'backbone\.blocks\.\d+\.downsample\.norm', 1e-6),  # ...swin.py:128
]
SWIN_FINAL = [(r'backbone\.norm', 1e-6)]  # models_mae_swin.py:346
SWIN_DENSE = [(r'backbone\.norm[0-3]', 1e-6)]  # as models_swin.py:80

# implus/UM-MAE PVT: PVTBlock is built without norm_layer
# (models_mae_pvt.py:185-195, models_pvt.py:53-63), so norm1/norm2 are its
# default nn.LayerNorm (models_mae_pvt.py:84, :86, :91), the attention's
# norm is nn.LayerNorm (models_mae_pvt.py:60); the final norm gets
# partial(nn.LayerNorm, eps=1e-6) (models_mae_pvt.py:415, :198;
# models_pvt.py:117, :68). PatchEmbed and PatchMerge have no norm.
PVT_BODY = [
    (r'backbone\.blocks\.\d+\.norm[12]', 1e-5),  # models_mae_pvt.py:86, 91
    (r'backbone\.blocks\.\d+\.attn\.norm', 1e-5),  # models_mae_pvt.py:60
]
PVT_FINAL = [(r'backbone\.norm', 1e-6)]  # models_mae_pvt.py:198
PVT_DENSE = [(r'backbone\.norm[0-3]', 1e-6)]  # as models_pvt.py:68

# UM-MAE's decoder: timm Blocks with the model's norm_layer (1e-6) and
# decoder_norm (models_mae_swin.py:361, :364; models_mae_pvt.py:213, :216).
UMMAE_DECODER = [
    (r'neck\.decoder_blocks\.\d+\.ln[12]', 1e-6),  # models_mae_swin.py:361
    (r'neck\.ln1', 1e-6),  # models_mae_swin.py:364 (decoder_norm)
]

SMOKE = '1xb32-coslr-30e_tiny-in1k'
BENCH = osp.join(CONFIGS, 'benchmarks')
CASES = [
    # (config, scope, scanned prefixes, rules)
    (f'mae/mae_vit-tiny-p4_{SMOKE}-32px.py', 'mmpretrain',
     ('backbone.', 'neck.'), MAE_VIT + MAE_DECODER),
    (f'emae/emae_vit-tiny-p4_{SMOKE}-32px.py', 'mmpretrain',
     ('backbone.', 'neck.'), MAE_VIT + MAE_DECODER),
    ('benchmarks/vit/mask-rcnn_vit-base-p16-sfp_8xb8-amp-lsj-25e_coco.py',
     'mmdet', ('backbone.', ), VITDET),
    (f'convmae/convmae_convvit-tiny_{SMOKE}-64px.py', 'mmpretrain',
     ('backbone.', 'neck.'), CONVMAE_PRETRAIN),
    ('benchmarks/convvit/convvit-tiny_1xb32-coslr-8e_tiny-in1k-64px.py',
     'mmpretrain', ('backbone.', ), CONVVIT_FINETUNE),
    ('benchmarks/convvit/mask-rcnn_convvit-tiny-fpn_1xb2-6e_tiny-coco-128px'
     '.py', 'mmdet', ('backbone.', ), CONVVIT_CONV),
    (f'um-mae/um-mae_swin-micro_{SMOKE}-128px.py', 'mmpretrain',
     ('backbone.', 'neck.'), SWIN_BODY + SWIN_FINAL + UMMAE_DECODER),
    (f'simmim/simmim_swin-micro_{SMOKE}-128px.py', 'mmpretrain',
     ('backbone.', 'neck.'), SWIN_BODY + SWIN_FINAL),
    ('benchmarks/swin/swin-micro_1xb32-coslr-8e_tiny-in1k-64px.py',
     'mmpretrain', ('backbone.', ), SWIN_BODY + SWIN_FINAL),
    ('benchmarks/swin/mask-rcnn_swin-micro-fpn_1xb2-12e_tiny-coco-128px.py',
     'mmdet', ('backbone.', ), SWIN_BODY + SWIN_DENSE),
    ('benchmarks/swin/upernet_swin-micro_1xb4-300i_tiny-ade20k-64x64.py',
     'mmseg', ('backbone.', ), SWIN_BODY + SWIN_DENSE),
    (f'um-mae/um-mae_pvt-micro_{SMOKE}-128px.py', 'mmpretrain',
     ('backbone.', 'neck.'), PVT_BODY + PVT_FINAL + UMMAE_DECODER),
    (f'simmim/simmim_pvt-micro_{SMOKE}-128px.py', 'mmpretrain',
     ('backbone.', 'neck.'), PVT_BODY + PVT_FINAL),
    ('benchmarks/pvt/pvt-micro_1xb32-coslr-8e_tiny-in1k-64px.py',
     'mmpretrain', ('backbone.', ), PVT_BODY + PVT_FINAL),
    ('benchmarks/pvt/mask-rcnn_pvt-micro-fpn_1xb2-12e_tiny-coco-128px.py',
     'mmdet', ('backbone.', ), PVT_BODY + PVT_DENSE),
    ('benchmarks/pvt/upernet_pvt-micro_1xb4-300i_tiny-ade20k-64x64.py',
     'mmseg', ('backbone.', ), PVT_BODY + PVT_DENSE),
]


def build_uninitialised(config, scope):
    """The model of a config, built in ``scope`` without loading any
    checkpoint (eps does not depend on the weights)."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import backbones  # noqa: F401  registers the suite's modules
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    cfg.model.backbone.pop('init_cfg', None)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(scope):
        return registry.build(cfg.model)


@pytest.mark.parametrize('config,scope,prefixes,rules', CASES,
                         ids=[osp.basename(c[0])[:-3] for c in CASES])
def test_every_layernorm_has_the_official_eps(config, scope, prefixes,
                                              rules):
    model = build_uninitialised(config, scope)
    wrong, unmatched, used = [], [], set()
    for name, module in model.named_modules():
        if not (isinstance(module, nn.LayerNorm)
                and name.startswith(prefixes)):
            continue
        hits = [(p, eps) for p, eps in rules if re.fullmatch(p, name)]
        if len(hits) != 1:
            unmatched.append((name, [p for p, _ in hits]))
            continue
        used.add(hits[0][0])
        if module.eps != hits[0][1]:
            wrong.append((name, module.eps, hits[0][1]))
    assert not unmatched, f'LayerNorms matching no or several rules: ' \
        f'{unmatched}'
    assert not wrong, f'(module, eps, official eps): {wrong}'
    assert used == {p for p, _ in rules}, \
        f'rules matching no module: {sorted({p for p, _ in rules} - used)}'
