# Smoke variant of SimMIM's reference row: the coordinate-aware SimMIM smoke
# run (micro Swin dims, 128 px crops of the tiny ImageNet, 75% of the 16 px
# patches hidden, shared smoke schedule and optimizer, CPU) with
# mmpretrain's SimMIM + SimMIMSwinTransformer (no drop path), decoder and
# head as the reference row's real config. Windows 8, 8, 8 and 4: the
# stage-4 map is 4 x 4 at 128 px and mmpretrain's Swin refuses a window
# larger than the map (official Swin shrinks it the same way).
_base_ = './simmim_swin-micro_1xb32-coslr-30e_tiny-in1k-128px.py'
model = dict(
    _delete_=True,
    type='SimMIM',
    backbone=dict(
        type='SimMIMSwinTransformer',
        arch={{_base_.tiny_swin_arch}},
        img_size={{_base_.size}},
        stage_cfgs=[dict(window_size=8), dict(window_size=8),
                    dict(window_size=8), dict(window_size=4)],
        drop_path_rate=0.),
    neck=dict(type='SimMIMLinearDecoder', in_channels=256,
              encoder_stride=32),
    head=dict(type='SimMIMHead', patch_size=4,
              loss=dict(type='PixelReconstructionLoss', criterion='L1',
                        channel=3)))
mimb_downstream = dict(
    finetune='../benchmarks/mmpretrain-swin/'
    'mmpretrain-swin-micro_1xb32-coslr-8e_tiny-in1k-64px.py',
    linear='../benchmarks/mmpretrain-swin/'
    'mmpretrain-swin-micro_1xb32-linear-coslr-30e_tiny-in1k-64px.py',
    knn='../benchmarks/mmpretrain-swin/'
    'mmpretrain-swin-micro_knn-k20_tiny-in1k-64px.py',
    det='../benchmarks/mmpretrain-swin/'
    'mask-rcnn_mmpretrain-swin-micro-fpn_1xb2-12e_tiny-coco-128px.py',
    seg='../benchmarks/mmpretrain-swin/'
    'upernet_mmpretrain-swin-micro_1xb4-300i_tiny-ade20k-64x64.py')
# Dense stages from the pretrained encoder here, unlike the real reference
# row: the smoke fine-tune's stage-4 window is 2 (a 2 x 2 map at 64 px), and
# its 3 x 3 relative-position table cannot be resized to window 16 by
# mmpretrain's bicubic resize (a cubic spline needs 4 points per axis).
mimb_init_from = None
mimb_smoke = None
