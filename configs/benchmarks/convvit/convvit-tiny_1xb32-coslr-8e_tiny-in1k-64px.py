# Smoke variant of the ConvViT fine-tuning protocol: the plain-ViT smoke
# fine-tuning (same augmentations, schedule, batch and lr) with the ConvViT-B
# protocol's encoder settings on the tiny ConvViT and 64 px crops.
_base_ = [
    '../vit/vit-tiny-p4_1xb32-coslr-8e_tiny-in1k-32px.py',
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
        drop_path_rate=0.1,
        init_cfg={{_base_.convvit_finetune_init}}))
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
val_dataloader = dict(
    dataset=dict(pipeline={{_base_.tiny_convvit_test_pipeline}}))
test_dataloader = val_dataloader
optim_wrapper = dict(paramwise_cfg={{_base_.convvit_finetune_paramwise}})
