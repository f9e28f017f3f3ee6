# Smoke variant of the ConvViT linear probe: the plain-ViT smoke linear probe
# (LARS, schedule, batch) on the frozen tiny ConvViT and 64 px crops.
_base_ = [
    '../vit/vit-tiny-p4_1xb32-linear-coslr-10e_tiny-in1k-32px.py',
    '../../_base_/convvit.py',
]
size = {{_base_.tiny_convvit_size}}
model = dict(
    backbone=dict(
        _delete_=True,
        type='ConvViT',
        arch={{_base_.tiny_convvit_arch}},
        img_size=size,
        out_type='avg_featmap',
        final_norm=True,
        frozen_stages=3,
        init_cfg={{_base_.convvit_linear_init}}))
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=size, backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs'),
]))
val_dataloader = dict(
    dataset=dict(pipeline={{_base_.tiny_convvit_test_pipeline}}))
test_dataloader = val_dataloader
