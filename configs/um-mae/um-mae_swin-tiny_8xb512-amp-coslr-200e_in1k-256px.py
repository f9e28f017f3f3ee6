# UM-MAE Swin-T, 200 epochs: the published recipe (implus/UM-MAE Makefile,
# pretrain_mae_swin_tiny_256_mask_vmr025_200e: 8 GPUs x 128 x 4 accumulation
# = 4096 images/iter, here 8 GPUs x 512): the coordinate-aware Swin-T
# (window 8, position-MLP attention bias), 256 px RandomResizedCrop(0.2-1)
# + flip, uniform masking on the 16 x 16 grid of 16 px patches (one visible
# per 2 x 2 cell, compacted), 25% secondary masking, decoder 512 x 2
# (16 heads), norm_pix MSE on the hidden patches; AdamW betas (0.9, 0.95),
# wd 0.05 (none on 1-D parameters and tokens), lr = 1.5e-4 * 4096 / 256,
# 10 warm-up epochs then cosine, bf16 AMP. UMMAE is mmpretrain's MAE with
# UM-MAE's encoder and decoder.
_base_ = '../mae/mae_vit-base-p16_8xb512-amp-coslr-800e_in1k.py'
img_size = 256
model = dict(
    _delete_=True,
    type='UMMAE',
    backbone=dict(type='UMMAESwin', arch='tiny', window_size=8,
                  mask_patch_size=16, secondary_ratio=0.25),
    neck=dict(type='UMMAEDecoder', in_channels=768, num_patches=256,
              patch_size=16, decoder_embed_dim=512, decoder_depth=2,
              decoder_num_heads=16),
    head=dict(type='MAEPretrainHead', norm_pix=True, patch_size=16,
              loss=dict(type='PixelReconstructionLoss', criterion='L2')))
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=img_size,
         crop_ratio_range=(0.2, 1.0), backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs'),
]))
optim_wrapper = dict(
    optimizer=dict(lr=1.5e-4 * 4096 / 256),
    paramwise_cfg=dict(
        _delete_=True,
        flat_decay_mult=0.0,
        custom_keys={'mask_token': dict(decay_mult=0.)}))
max_epochs = 200
warmup_epochs = 10
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
mimb_downstream = dict(
    finetune='../benchmarks/swin/swin-tiny_8xb128-coslr-100e_in1k-256px.py',
    linear='../benchmarks/swin/'
    'swin-tiny_8xb2048-linear-coslr-90e_in1k-256px.py',
    knn='../benchmarks/swin/swin-tiny_knn-k20_in1k-256px.py',
    det='../benchmarks/swin/mask-rcnn_swin-tiny-fpn_8xb2-amp-1x_coco.py',
    seg='../benchmarks/swin/'
    'upernet_swin-tiny_8xb2-amp-160k_ade20k-512x512.py')
# Intermediate fine-tuning, as published (implus/UM-MAE DET/configs/gfl/
# gfl_mae_swin_tiny_256_mask_vmr025_200e_100e_..., SEG/configs/upernet/
# upernet_mae_swin_tiny_256_mask_vmr025_200e_100e_...: pretrained=
# .../finetune_..._200e_100e/checkpoint-99.pth; the paper calls it crucial
# for pyramid ViTs): detection and segmentation start from the fine-tuned
# encoder (its classification head dropped), not the pretrained one.
# Every UM-MAE and SimMIM config of the Swin and PVT families (Swin-L,
# PVT-S, mmpretrain's Swin, the smoke variants) inherits this.
mimb_init_from = dict(det='finetune', seg='finetune')
mimb_smoke = './um-mae_swin-micro_1xb32-coslr-30e_tiny-in1k-128px.py'
