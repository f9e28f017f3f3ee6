# Smoke variant of the plain-ViT fine-tuning protocol: the ViT-B recipe
# (layer decay 0.65, drop path 0.1, RandAugment, RandomErasing, Mixup/CutMix,
# label smoothing) on the tiny ViT and the tiny ImageNet, on one CPU.
_base_ = [
    './vit-base-p16_8xb128-coslr-100e_in1k.py',
    '../../_base_/tiny_data.py',
]
model = dict(
    backbone=dict(
        arch={{_base_.tiny_vit_arch}},
        img_size={{_base_.tiny_img_size}},
        patch_size={{_base_.tiny_patch_size}}),
    head=dict(num_classes={{_base_.tiny_num_classes}}, in_channels=64))
data_preprocessor = dict(num_classes={{_base_.tiny_num_classes}})
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale={{_base_.tiny_img_size}},
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2,
         total_level=10, magnitude_level=9, magnitude_std=0.5,
         hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic')),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand',
         min_area_ratio=0.02, max_area_ratio=1 / 3,
         fill_color=[103.53, 116.28, 123.675],
         fill_std=[57.375, 57.12, 58.395]),
    dict(type='PackInputs'),
]
tiny_dataset = dict(data_root={{_base_.tiny_imagenet_root}},
                    metainfo=dict(classes={{_base_.tiny_classes}}))
train_dataloader = dict(
    batch_size=32, num_workers=0, persistent_workers=False,
    dataset=dict(pipeline=train_pipeline, **tiny_dataset))
val_dataloader = dict(
    batch_size=64, num_workers=0, persistent_workers=False,
    dataset=dict(pipeline={{_base_.tiny_test_pipeline}}, **tiny_dataset))
test_dataloader = val_dataloader
max_epochs = 8
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4 * 32 / 256 * 4,
                   weight_decay=0.05, betas=(0.9, 0.999)),
    constructor='LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg={{_base_.optim_wrapper.paramwise_cfg}})
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True,
         begin=1, end=max_epochs, eta_min=1e-6, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=32)
