# Smoke variant of MAE pretraining: the ViT-B 800e recipe with a 4-layer,
# 64-d ViT on 32 px crops (8 x 8 patches of 4 px) of the tiny ImageNet, on
# one CPU in about a minute. Same model classes, loss (norm_pix MSE on 75%
# masked patches), optimizer and schedule shape; only sizes are smaller.
_base_ = [
    './mae_vit-base-p16_8xb512-amp-coslr-800e_in1k.py',
    '../_base_/tiny_data.py',
]
model = dict(
    backbone=dict(
        arch={{_base_.tiny_vit_arch}},
        img_size={{_base_.tiny_img_size}},
        patch_size={{_base_.tiny_patch_size}}),
    neck=dict(num_patches=64, patch_size={{_base_.tiny_patch_size}},
              embed_dim=64, decoder_embed_dim=64, decoder_depth=2,
              decoder_num_heads=4),
    head=dict(patch_size={{_base_.tiny_patch_size}}))

train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root={{_base_.tiny_imagenet_root}},
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='RandomResizedCrop', scale={{_base_.tiny_img_size}},
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
    finetune='../benchmarks/vit/vit-tiny-p4_1xb32-coslr-8e_tiny-in1k-32px.py',
    linear='../benchmarks/vit/'
    'vit-tiny-p4_1xb32-linear-coslr-10e_tiny-in1k-32px.py',
    knn='../benchmarks/vit/vit-tiny-p4_knn-k20_tiny-in1k-32px.py',
    det='../benchmarks/vit/mask-rcnn_vit-tiny-p4-sfp_1xb2-6e_tiny-coco-128px.py',
    seg='../benchmarks/vit/'
    'upernet_vit-tiny-p4-mln_1xb4-300i_tiny-ade20k-64x64.py')
mimb_smoke = None
