# Smoke variant of the matched SimMIM baseline: the UM-MAE smoke run (micro
# coordinate-aware Swin, 128 px crops, schedule, optimizer) with SimMIM's
# masking (75% of the 16 px patches), linear pixel decoder and L1 loss, and
# window 16 on the dense 32 x 32 stage-1 map (the real config's window 16,
# covering the area of UM-MAE's window 8 on its compacted map).
_base_ = '../um-mae/um-mae_swin-micro_1xb32-coslr-30e_tiny-in1k-128px.py'
model = dict(
    _delete_=True,
    type='SimMIM',
    backbone=dict(type='SimMIMCoordSwin', arch={{_base_.tiny_swin_arch}},
                  window_size=16),
    neck=dict(type='SimMIMLinearDecoder', in_channels=256,
              encoder_stride=32),
    head=dict(type='SimMIMHead', patch_size=4,
              loss=dict(type='PixelReconstructionLoss', criterion='L1',
                        channel=3)))
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale={{_base_.size}},
         crop_ratio_range=(0.2, 1.0), backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='SimMIMMaskGenerator', input_size={{_base_.size}},
         mask_patch_size=16, model_patch_size=4, mask_ratio=0.75),
    dict(type='PackInputs'),  # sets data_samples.mask from 'mask'
]))
