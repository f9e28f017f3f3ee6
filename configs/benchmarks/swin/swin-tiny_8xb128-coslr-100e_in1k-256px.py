# End-to-end fine-tuning of a coordinate-aware Swin-T (UM-MAE, SimMIM), the
# UM-MAE recipe (implus/UM-MAE Makefile finetune_mae_swin_tiny_256_*: 256
# px, 8 GPUs x 64 x 2 = 1024 images, blr 5e-4 -> lr 2e-3, layer decay
# 0.85, drop path 0.1, RandomErasing 0.25, Mixup 0.8 / CutMix 1.0, 100
# epochs) on MAE's fine-tuning pipeline (RandAugment, label smoothing, 5
# warm-up + 95 cosine epochs), window 16, the mean of the stage-4 tokens
# through the pretrained final norm. Layer decay as the official code:
# patch embedding lowest, block k at depth k + 1.
# Set the encoder with
#   --cfg-options model.backbone.init_cfg.checkpoint=<pretrain checkpoint>
_base_ = [
    '../vit/vit-base-p16_8xb128-coslr-100e_in1k.py',
    '../../_base_/swin.py',
]
size = 256
model = dict(
    backbone=dict(
        _delete_=True,
        type='CoordSwin',
        arch='tiny',
        window_size={{_base_.swin_dense_window}},
        out_type='avg_featmap',
        drop_path_rate=0.1,
        init_cfg={{_base_.swin_cls_init}}))
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=size, backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2,
         total_level=10, magnitude_level=9, magnitude_std=0.5,
         hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic')),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand',
         min_area_ratio=0.02, max_area_ratio=1 / 3,
         fill_color=[103.53, 116.28, 123.675],
         fill_std=[57.375, 57.12, 58.395]),
    dict(type='PackInputs'),
]))
val_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=292, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=size),
    dict(type='PackInputs'),
]))
test_dataloader = val_dataloader
optim_wrapper = dict(
    paramwise_cfg=dict(
        _delete_=True,
        layer_decay_rate=0.85,
        flat_decay_mult=0.0))
