# Linear probing of a frozen plain-ViT encoder, MAE LINPROBE.md: cls token
# after the final norm, BatchNorm without affine (ClsBatchNormNeck) + linear
# head, LARS lr 6.4 (blr 0.1 x 16384 / 256), wd 0, 10 warm-up + 80 cosine
# epochs, 8 GPUs x 2048. The encoder's keys must match the checkpoint exactly.
_base_ = [
    'mmpretrain::mae/benchmarks/vit-base-p16_8xb2048-linear-coslr-90e_in1k.py',
    '../../_base_/mimb_runtime.py',
]
mimb_stage = 'linear'
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')))
optim_wrapper = dict(dtype='bfloat16')
# Data sets checked before training (backbones/datasets/checked.py).
train_dataloader = dict(dataset=dict(type='CheckedImageNet'))
val_dataloader = dict(dataset=dict(type='CheckedImageNet'))
test_dataloader = dict(dataset=dict(type='CheckedImageNet'))
