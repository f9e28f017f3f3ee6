# Smoke variant of the coordinate-aware Swin UperNet protocol on the tiny
# ADE20K: the plain-ViT smoke segmentation run (data, 64 px crops, 300
# iterations, lr, BN) with the Swin protocol's encoder (four stage outputs
# through new norms, window 16, drop path 0.2) straight into the UPerHead,
# no layer decay.
_base_ = [
    '../vit/upernet_vit-tiny-p4-mln_1xb4-300i_tiny-ade20k-64x64.py',
    '../../_base_/swin.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.CoordSwin',
        arch={{_base_.tiny_swin_arch}},
        window_size={{_base_.swin_dense_window}},
        drop_path_rate=0.2,
        out_indices=(0, 1, 2, 3),
        init_cfg={{_base_.swin_dense_init}}),
    neck=None,
    decode_head=dict(in_channels=[32, 64, 128, 256]),
    auxiliary_head=dict(in_channels=128, in_index=2))
optim_wrapper = dict(
    paramwise_cfg=dict(
        _delete_=True,
        custom_keys={'norm': dict(decay_mult=0.)}))
