# Smoke variant of UM-MAE pretraining: the Swin-T recipe with the micro
# coordinate-aware Swin on 128 px crops of the tiny ImageNet (an 8 x 8 grid
# of 16 px masking patches: 16 visible, compacted to a 16 x 16 token map,
# 4 of the 16 cells secondarily masked) and a 64-d, 2-block decoder, on one
# CPU. Same classes, masking, loss, optimizer and schedule shape as the MAE
# smoke run; only sizes differ.
_base_ = [
    './um-mae_swin-tiny_8xb512-amp-coslr-200e_in1k-256px.py',
    '../_base_/tiny_data.py',
]
size = {{_base_.tiny_swin_pretrain_size}}
model = dict(
    backbone=dict(_delete_=True, type='UMMAESwin',
                  arch={{_base_.tiny_swin_arch}}, window_size=8,
                  mask_patch_size=16, secondary_ratio=0.25),
    neck=dict(in_channels=256, num_patches=64,  # (128 / 16)^2
              decoder_embed_dim=64, decoder_num_heads=4))
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root={{_base_.tiny_imagenet_root}},
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='RandomResizedCrop', scale=size,
                 crop_ratio_range=(0.2, 1.0), backend='pillow',
                 interpolation='bicubic'),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackInputs'),
        ]))
# the shared smoke schedule (configs/_base_/tiny_data.py), CPU: no AMP
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer={{_base_.tiny_pretrain_optimizer}},
    paramwise_cfg={{_base_.optim_wrapper.paramwise_cfg}})
param_scheduler = {{_base_.tiny_pretrain_scheduler}}
max_epochs = {{_base_.tiny_pretrain_epochs}}
train_cfg = dict(max_epochs=max_epochs)
default_hooks = {{_base_.tiny_pretrain_hooks}}
auto_scale_lr = dict(base_batch_size=32)
randomness = dict(seed=0, diff_rank_seed=True)
mimb_downstream = dict(
    finetune='../benchmarks/swin/swin-micro_1xb32-coslr-8e_tiny-in1k-64px.py',
    linear='../benchmarks/swin/'
    'swin-micro_1xb32-linear-coslr-30e_tiny-in1k-64px.py',
    knn='../benchmarks/swin/swin-micro_knn-k20_tiny-in1k-64px.py',
    det='../benchmarks/swin/mask-rcnn_swin-micro-fpn_1xb2-12e_tiny-coco-128px.py',
    seg='../benchmarks/swin/'
    'upernet_swin-micro_1xb4-300i_tiny-ade20k-64x64.py')
mimb_smoke = None
# Smoke scale: the dense stages start from the pretrained encoder. The
# published intermediate fine-tuning (the real config's mimb_init_from)
# handed the 8-epoch 64 px smoke fine-tune to Mask R-CNN, which then reached
# 0.1% box AP after its 144 iterations (2-6% from the pretrained encoder).
mimb_init_from = None
