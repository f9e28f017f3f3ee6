# Smoke variant of the ConvViT UperNet protocol on the tiny ADE20K: the
# plain-ViT smoke segmentation run (data, 64 px crops, 300 iterations, lr,
# BN) with the ConvViT-B protocol's model: the tiny ConvViT's four levels
# (strides 4-32) straight into the UPerHead, global attention with one
# relative position bias table per block, layer scale (init 1), layer decay
# 0.75, drop path 0.2.
_base_ = [
    '../vit/upernet_vit-tiny-p4-mln_1xb4-300i_tiny-ade20k-64x64.py',
    '../../_base_/convvit.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.ConvViT',
        arch={{_base_.tiny_convvit_arch}},
        img_size=64,
        block_rel_pos_bias=True,
        layer_scale_init_value=1.0,
        drop_path_rate=0.2,
        out_indices=(0, 1, 2, 3),
        init_cfg={{_base_.convvit_dense_init}}),
    neck=None,
    decode_head=dict(in_channels=[32, 48, 64, 64]),
    auxiliary_head=dict(in_index=2))
optim_wrapper = dict(
    paramwise_cfg=dict(
        _delete_=True,
        layer_decay_rate=0.75,
        norm_decay_mult=0.0,
        custom_keys={
            '.pos_embed': dict(decay_mult=0.0),
            '.gamma': dict(decay_mult=0.0),
        }))
