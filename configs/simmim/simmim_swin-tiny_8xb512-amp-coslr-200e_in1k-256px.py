# SimMIM Swin-T at UM-MAE's budget, UM-MAE's matched baseline as published
# (the "SimMIM, RS, 100% encoder ratio" row of implus/UM-MAE README.md L57:
# 200 epochs, 49.3 h, 82.20 fine-tuned; Makefile L54-68
# pretrain_simmim_swin_tiny_256_200e: --model simmim_swin_tiny_256,
# 8 GPUs x 64 x 8 accumulation = 4096 images/iter, here 8 x 512): the
# coordinate-aware Swin-T with window 16 (models_simmim_swin.py L212-218,
# simmim_swin_tiny_256: window_size=16; fine-tuning swin_tiny_256 uses 16
# too, models_swin.py L121-127), the data, optimizer and 200-epoch schedule
# of the UM-MAE Swin-T config; the encoder sees every token, 75% of the
# 16 px patches (random) replaced by a mask token; SimMIM's linear pixel
# decoder and L1 loss on the hidden pixels. A 16-token window on the dense
# 64 x 64 stage-1 map covers the image area of UM-MAE's 8-token window on
# its compacted 32 x 32 map. The window-8 variant is
# simmim-w8_swin-tiny_8xb512-amp-coslr-200e_in1k-256px.py.
_base_ = '../um-mae/um-mae_swin-tiny_8xb512-amp-coslr-200e_in1k-256px.py'
model = dict(
    _delete_=True,
    type='SimMIM',
    backbone=dict(type='SimMIMCoordSwin', arch='tiny', window_size=16),
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
