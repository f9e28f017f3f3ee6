# UM-MAE Swin-L, 800 epochs (implus/UM-MAE PRETRAIN.md, Swin-L row;
# mae_swin_large_256_dec512d2b): the Swin-T recipe with the Swin-L encoder
# (192-d, 2/2/18/2 blocks, 6/12/24/48 heads) for 800 epochs; activation
# checkpointing keeps 512 images per GPU within 80 GB.
_base_ = './um-mae_swin-tiny_8xb512-amp-coslr-200e_in1k-256px.py'
model = dict(
    backbone=dict(arch='large', with_cp=True),
    neck=dict(in_channels=1536))
max_epochs = 800
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0,
         end={{_base_.warmup_epochs}}, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 10, by_epoch=True,
         begin={{_base_.warmup_epochs}}, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
mimb_downstream = dict(
    finetune='../benchmarks/swin/swin-large_8xb128-coslr-100e_in1k-256px.py',
    linear='../benchmarks/swin/'
    'swin-large_8xb2048-linear-coslr-90e_in1k-256px.py',
    knn='../benchmarks/swin/swin-large_knn-k20_in1k-256px.py',
    det='../benchmarks/swin/mask-rcnn_swin-large-fpn_8xb2-amp-1x_coco.py',
    seg='../benchmarks/swin/'
    'upernet_swin-large_8xb2-amp-160k_ade20k-512x512.py')
mimb_smoke = './um-mae_swin-micro_1xb32-coslr-30e_tiny-in1k-128px.py'
