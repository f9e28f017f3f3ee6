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
max_epochs = 30
warmup_epochs = 3
# CPU: no AMP. lr as the recipe's blr * batch / 256, times 10 because the
# smoke run is 30 epochs instead of 1600 (as the MAE smoke run).
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1.5e-4 * 32 / 256 * 10,
                   betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg={{_base_.optim_wrapper.paramwise_cfg}})
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=10, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=32)
randomness = dict(seed=0, diff_rank_seed=True)
mimb_downstream = dict(
    finetune='../benchmarks/convvit/'
    'convvit-tiny_1xb32-coslr-8e_tiny-in1k-64px.py',
    linear='../benchmarks/convvit/'
    'convvit-tiny_1xb32-linear-coslr-10e_tiny-in1k-64px.py',
    knn='../benchmarks/convvit/convvit-tiny_knn-k20_tiny-in1k-64px.py',
    det='../benchmarks/convvit/'
    'mask-rcnn_convvit-tiny-fpn_1xb2-6e_tiny-coco-128px.py',
    seg='../benchmarks/convvit/'
    'upernet_convvit-tiny_1xb4-300i_tiny-ade20k-64x64.py')
mimb_smoke = None
