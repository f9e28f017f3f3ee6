# SimMIM Swin-T at UM-MAE's budget, UM-MAE's matched baseline (the
# "SimMIM, RS, 100% encoder ratio" row of implus/UM-MAE PRETRAIN.md): the
# same coordinate-aware Swin-T (window 8), data, batch (8 x 512), optimizer
# and 200-epoch schedule as the UM-MAE Swin-T config; the encoder sees every
# token, 75% of the 16 px patches (random) replaced by a mask token;
# SimMIM's linear pixel decoder and L1 loss on the hidden pixels. The two
# rows differ only in masking (the official SimMIM-Swin of UM-MAE uses
# window 16; here both use 8).
_base_ = '../um-mae/um-mae_swin-tiny_8xb512-amp-coslr-200e_in1k-256px.py'
model = dict(
    _delete_=True,
    type='SimMIM',
    backbone=dict(type='SimMIMCoordSwin', arch='tiny', window_size=8),
    neck=dict(type='SimMIMLinearDecoder', in_channels=768,
              encoder_stride=32),
    head=dict(type='SimMIMHead', patch_size=4,
              loss=dict(type='PixelReconstructionLoss', criterion='L1',
                        channel=3)))
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale={{_base_.img_size}},
         crop_ratio_range=(0.2, 1.0), backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='SimMIMMaskGenerator', input_size={{_base_.img_size}},
         mask_patch_size=16, model_patch_size=4, mask_ratio=0.75),
    dict(type='PackInputs'),  # sets data_samples.mask from 'mask'
]))
mimb_smoke = './simmim_swin-micro_1xb32-coslr-30e_tiny-in1k-128px.py'
