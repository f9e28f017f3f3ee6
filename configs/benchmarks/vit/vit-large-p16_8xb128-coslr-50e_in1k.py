# End-to-end fine-tuning of a plain-ViT-L/16 encoder: MAE FINETUNE.md for
# ViT-L (50 epochs, blr 1e-3 at 1024 images -> lr 4e-3 as mmpretrain ships
# it, layer decay 0.75, drop path 0.2); the rest as the ViT-B protocol.
_base_ = [
    'mmpretrain::mae/benchmarks/vit-large-p16_8xb128-coslr-50e_in1k.py',
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
