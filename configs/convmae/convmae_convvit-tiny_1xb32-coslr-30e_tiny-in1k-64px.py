# Smoke variant of ConvMAE pretraining: the ConvMAE-B recipe with a tiny
# ConvViT (32/48/64 channels, 1/1/2 blocks, 4 heads) on 64 px crops of the
# tiny ImageNet (stage grids 16/8/4: 4 of the 16 stage-3 tokens visible) and
# a 64-d, 2-block decoder, on one CPU. Same model classes, masking, fusion,
# loss (norm_pix MSE on the hidden 16 px patches), optimizer and schedule
# shape as the MAE smoke run; only sizes differ.
_base_ = [
    './convmae_convvit-base-p16_8xb384-amp-coslr-1600e_in1k.py',
    '../_base_/tiny_data.py',
]
tiny_size = {{_base_.tiny_convvit_size}}
model = dict(
    backbone=dict(arch={{_base_.tiny_convvit_arch}}, img_size=tiny_size),
    neck=dict(num_patches=16, embed_dim=64, decoder_embed_dim=64,
              decoder_depth=2, decoder_num_heads=4))
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root={{_base_.tiny_imagenet_root}},
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='RandomResizedCrop', scale=tiny_size,
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
    finetune='../benchmarks/convvit/'
    'convvit-tiny_1xb32-coslr-8e_tiny-in1k-64px.py',
    linear='../benchmarks/convvit/'
    'convvit-tiny_1xb32-linear-coslr-30e_tiny-in1k-64px.py',
    knn='../benchmarks/convvit/convvit-tiny_knn-k20_tiny-in1k-64px.py',
    det='../benchmarks/convvit/'
    'mask-rcnn_convvit-tiny-fpn_1xb2-6e_tiny-coco-128px.py',
    seg='../benchmarks/convvit/'
    'upernet_convvit-tiny_1xb4-300i_tiny-ade20k-64x64.py')
mimb_smoke = None
