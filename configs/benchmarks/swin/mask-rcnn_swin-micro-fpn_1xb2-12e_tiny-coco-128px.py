# Smoke variant of the coordinate-aware Swin Mask R-CNN protocol on the
# tiny COCO: the plain-ViT smoke detection run (data, 128 px crops, lr,
# 4conv1fc LN heads) with the Swin protocol's encoder (four stage outputs
# through new norms, window 16, drop path 0.2) into an FPN, mmdet's Swin
# optimizer settings (no decay on norms, no layer decay), and twice the
# plain ViT's 6 epochs: in 6 the micro Swin stayed at 0.0-1.7 box AP
# (pretrained or random encoder, lr 4e-4 or 1e-3, backbone lr x0.1, FPN
# with LN or BN, window 8, drop path 0.1 all tried on one UM-MAE smoke
# checkpoint); 12 epochs gave 10.9. The PVT and mmpretrain-Swin smoke
# runs inherit it (one schedule for the pyramid family).
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
max_epochs = 12
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=30),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[10], gamma=0.1),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
