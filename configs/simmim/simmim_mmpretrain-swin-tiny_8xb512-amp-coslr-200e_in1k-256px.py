# SimMIM's reference row (SPEC: "mmpretrain's registered SimMIM with its
# standard Swin"): everything of the matched SimMIM Swin-T config beside it
# (data: 256 px RandomResizedCrop(0.2-1) + flip; masking: 75% of the 16 px
# patches by SimMIMMaskGenerator, model patch 4; batch 8 x 512; AdamW
# betas (0.9, 0.95), wd 0.05 (none on 1-D parameters and the mask token),
# lr 1.5e-4 * 4096 / 256; 10 warm-up + 190 cosine epochs; bf16 AMP: the
# UM-MAE Swin-T budget), with mmpretrain's own model instead of the
# coordinate-aware one: SimMIM + SimMIMSwinTransformer (standard Swin-T:
# relative-position bias tables, mmcv patch merging, one norm3 on stage 4),
# window 8 set per stage as mmpretrain's
# simmim_swin-base-w6_8xb256-amp-coslr-100e_in1k-192px.py sets its window 6
# (stage 4 is 8 x 8 at 256 px: one window, no shift), no drop path as the
# coordinate-aware encoder (SimMIMSwinTransformer defaults to 0.1, which
# mmpretrain's config keeps), SimMIMLinearDecoder (1 x 1 conv to
# 32^2 * 3, pixel shuffle) and SimMIMHead (L1 on the hidden pixels) as in
# that config.
_base_ = './simmim_swin-tiny_8xb512-amp-coslr-200e_in1k-256px.py'
model = dict(
    _delete_=True,
    type='SimMIM',
    backbone=dict(type='SimMIMSwinTransformer', arch='tiny',
                  img_size={{_base_.img_size}},
                  stage_cfgs=dict(window_size=8), drop_path_rate=0.),
    neck=dict(type='SimMIMLinearDecoder', in_channels=768,
              encoder_stride=32),
    head=dict(type='SimMIMHead', patch_size=4,
              loss=dict(type='PixelReconstructionLoss', criterion='L1',
                        channel=3)))
mimb_downstream = dict(
    finetune='../benchmarks/mmpretrain-swin/'
    'mmpretrain-swin-tiny_8xb128-coslr-100e_in1k-256px.py',
    linear='../benchmarks/mmpretrain-swin/'
    'mmpretrain-swin-tiny_8xb2048-linear-coslr-90e_in1k-256px.py',
    knn='../benchmarks/mmpretrain-swin/'
    'mmpretrain-swin-tiny_knn-k20_in1k-256px.py',
    det='../benchmarks/mmpretrain-swin/'
    'mask-rcnn_mmpretrain-swin-tiny-fpn_8xb2-amp-1x_coco.py',
    seg='../benchmarks/mmpretrain-swin/'
    'upernet_mmpretrain-swin-tiny_8xb2-amp-160k_ade20k-512x512.py')
mimb_smoke = './simmim_mmpretrain-swin-micro_1xb32-coslr-30e_tiny-in1k-128px.py'
