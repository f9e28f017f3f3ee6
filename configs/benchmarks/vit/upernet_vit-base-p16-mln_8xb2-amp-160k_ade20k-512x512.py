# UperNet with a plain ViT-B/16 encoder (MAE, EMAE) on ADE20K, the MAE
# semantic-segmentation recipe as mmseg ships it: global attention, features
# of blocks 3, 5, 7, 11 resampled x4, x2, x1, x0.5 by a multi-level neck,
# UPerHead + FCN auxiliary head, 512 x 512 crops, 16 images (8 GPUs x 2),
# AdamW lr 1e-4, wd 0.05, layer decay 0.65, drop path 0.1, 1500 warm-up
# iterations then poly decay, 160k iterations, sliding-window test.
# mmseg's own MAE config adds `fp16=dict(...)`, which nothing reads; here
# AMP is the optimizer wrapper's (bf16).
# Set the encoder with
#   --cfg-options model.backbone.init_cfg.checkpoint=<pretrain checkpoint>
_base_ = [
    'mmseg::_base_/models/upernet_mae.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
    '../../_base_/mimb_runtime.py',
]
mimb_stage = 'seg'
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        _delete_=True,
        type='mmpretrain.WindowedViT',
        arch='base',
        img_size=crop_size[0],
        patch_size=16,
        window_size=0,
        global_attn_indexes=(),
        drop_path_rate=0.1,
        out_indices=(3, 5, 7, 11),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='',
            prefix='backbone.',
            allow_unexpected=['cls_token', 'ln1.*'])),
    neck=dict(
        _delete_=True,
        type='MultiLevelNeck',
        in_channels=[768, 768, 768, 768],
        out_channels=768,
        scales=[4, 2, 1, 0.5]),
    decode_head=dict(
        in_channels=[768, 768, 768, 768], channels=768, num_classes=150),
    auxiliary_head=dict(in_channels=768, num_classes=150),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)))
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    dtype='bfloat16',
    constructor='BackboneLayerDecayOptimWrapperConstructor',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(
        layer_decay_rate=0.65,
        custom_keys={'.pos_embed': dict(decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
         end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000,
         by_epoch=False),
]
# Data sets checked before training (backbones/datasets/checked.py).
train_dataloader = dict(batch_size=2,
                        dataset=dict(type='CheckedADE20KDataset'))
val_dataloader = dict(batch_size=1, dataset=dict(type='CheckedADE20KDataset'))
test_dataloader = val_dataloader
