# Smoke variant of the plain-ViT UperNet protocol on the tiny ADE20K: the
# tiny ViT (stride 4: neck scales 1, 1/2, 1/4, 1/8), 64-channel heads with
# the recipe's SyncBN (plain BN on one process: MMEngine reverts it), 64 px
# crops of the 128 px scenes, 300 iterations, whole-image test.
_base_ = [
    './upernet_vit-base-p16-mln_8xb2-amp-160k_ade20k-512x512.py',
    '../../_base_/tiny_data.py',
]
crop_size = (64, 64)
size = {{_base_.tiny_dense_size}}
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        arch={{_base_.tiny_vit_arch}},
        img_size=crop_size[0],
        patch_size={{_base_.tiny_patch_size}},
        out_indices=(0, 1, 2, 3)),
    neck=dict(in_channels=[64, 64, 64, 64], out_channels=64,
              scales=[1, 0.5, 0.25, 0.125]),
    decode_head=dict(in_channels=[64, 64, 64, 64], channels=64,
                     norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=64, channels=64, norm_cfg=norm_cfg),
    test_cfg=dict(_delete_=True, mode='whole'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(size, size), ratio_range=(0.5, 2.0),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(size, size), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={{_base_.tiny_ade_root}},
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={{_base_.tiny_ade_root}},
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
max_iters = 300
# CPU: no AMP; a higher lr than the recipe's for 300 iterations.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='BackboneLayerDecayOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999),
                   weight_decay=0.05),
    paramwise_cfg={{_base_.optim_wrapper.paramwise_cfg}})
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=30),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=30, end=max_iters,
         by_epoch=False),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1),
    visualization=dict(draw=False))
randomness = dict(seed=0)
