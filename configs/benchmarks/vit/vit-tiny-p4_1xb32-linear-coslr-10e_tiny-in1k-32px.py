# Smoke variant of the plain-ViT linear probe: frozen tiny ViT, cls token
# after the final norm, BatchNorm (no affine) + linear head, LARS.
_base_ = [
    './vit-base-p16_8xb2048-linear-coslr-90e_in1k.py',
    '../../_base_/tiny_data.py',
]
model = dict(
    backbone=dict(
        arch={{_base_.tiny_vit_arch}},
        img_size={{_base_.tiny_img_size}},
        patch_size={{_base_.tiny_patch_size}},
        frozen_stages=4),
    neck=dict(input_features=64),
    head=dict(num_classes={{_base_.tiny_num_classes}}, in_channels=64))
data_preprocessor = dict(num_classes={{_base_.tiny_num_classes}})
tiny_dataset = dict(data_root={{_base_.tiny_imagenet_root}},
                    metainfo=dict(classes={{_base_.tiny_classes}}))
train_dataloader = dict(
    batch_size=32, num_workers=0, persistent_workers=False,
    dataset=dict(
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='RandomResizedCrop', scale={{_base_.tiny_img_size}},
                 backend='pillow', interpolation='bicubic'),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackInputs'),
        ],
        **tiny_dataset))
val_dataloader = dict(
    batch_size=64, num_workers=0, persistent_workers=False,
    dataset=dict(pipeline={{_base_.tiny_test_pipeline}}, **tiny_dataset))
test_dataloader = val_dataloader
max_epochs = 10
# The recipe's LARS (BN without affine in front, wd 0, momentum 0.9) at 5x
# its lr (6.4 -> 32), without AMP (CPU). LARS scales each step to
# lr * eta * |w| (eta 0.001), so the head (init std 0.01) can grow by at
# most e^(lr * eta) per iteration: the recipe has ~7,000 iterations (90
# epochs of 78 at batch 16,384), the smoke probe 100. At 6.4 it barely
# moved (MAE smoke: training loss 2.09 -> 1.74 against chance ln 8 = 2.08,
# top-1 35.0, below kNN's 37.5); at 32 the loss falls to 1.02 and top-1 is
# 67.5; at 64 to 0.87 (66.3); at 128 it diverges (2.0 -> 2.4 mid-run).
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=32.0, weight_decay=0.0, momentum=0.9))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True,
         begin=1, end=max_epochs, eta_min=0.0, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=32)
