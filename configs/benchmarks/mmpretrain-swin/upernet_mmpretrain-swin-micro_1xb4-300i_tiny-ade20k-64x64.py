# Smoke variant of the mmpretrain Swin UperNet protocol on the tiny ADE20K:
# the coordinate-aware Swin smoke segmentation run (data, 64 px crops, 300
# iterations, lr, BN, UPerHead on the four stages, no layer decay) with the
# protocol's micro mmpretrain.SwinTransformer: window 16 shrunk to the
# stage maps of the 64 px crops (16, 8, 4, 2), padding of smaller maps,
# drop path 0.2.
_base_ = [
    '../swin/upernet_swin-micro_1xb4-300i_tiny-ade20k-64x64.py',
    '../../_base_/mmpretrain_swin.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.SwinTransformer',
        arch={{_base_.tiny_swin_arch}},
        window_size={{_base_.mmpretrain_swin_window}},
        stage_cfgs={{_base_.tiny_mmpretrain_swin_cls_stages}},
        pad_small_map=True,
        drop_path_rate=0.2,
        out_indices=(0, 1, 2, 3),
        init_cfg={{_base_.mmpretrain_swin_dense_init}}))
