# Smoke variant of the coordinate-aware Swin Mask R-CNN protocol on the
# tiny COCO: the plain-ViT smoke detection run (data, 128 px crops,
# schedule, lr, 4conv1fc LN heads) with the Swin protocol's encoder (four
# stage outputs through new norms, window 16, drop path 0.2) into an FPN,
# mmdet's Swin optimizer settings (no decay on norms, no layer decay).
_base_ = [
    '../vit/mask-rcnn_vit-tiny-p4-sfp_1xb2-6e_tiny-coco-128px.py',
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
    neck=dict(
        _delete_=True,
        type='FPN',
        in_channels=[32, 64, 128, 256],
        out_channels=64,
        num_outs=5))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=4e-4, betas=(0.9, 0.999),
                   weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=0.)}))
