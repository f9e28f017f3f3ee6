# End-to-end fine-tuning of a plain-ViT-B/16 encoder (MAE, EMAE), the MAE
# FINETUNE.md recipe as mmpretrain ships it: 8 GPUs x 128 = 1024 images,
# AdamW lr 2e-3 (blr 5e-4), wd 0.05, layer-wise lr decay 0.65, drop path 0.1,
# 5 warm-up + 95 cosine epochs, RandAugment(9, 0.5), RandomErasing 0.25,
# Mixup 0.8 / CutMix 1.0, label smoothing 0.1, global average pooling + fc_norm
# (the pretraining's final norm `ln1` is replaced by a fresh `ln2`).
# Set the encoder with
#   --cfg-options model.backbone.init_cfg.checkpoint=<pretrain checkpoint>
_base_ = [
    'mmpretrain::mae/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py',
    '../../_base_/mimb_runtime.py',
]
mimb_stage = 'finetune'
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='',
            prefix='backbone.',
            allow_missing=['ln2.*'],
            allow_unexpected=['ln1.*'])))
optim_wrapper = dict(type='AmpOptimWrapper', dtype='bfloat16')
# Data sets checked before training (backbones/datasets/checked.py).
train_dataloader = dict(dataset=dict(type='CheckedImageNet'))
val_dataloader = dict(dataset=dict(type='CheckedImageNet'))
test_dataloader = dict(dataset=dict(type='CheckedImageNet'))
