# Smoke variant of the plain-ViT Mask R-CNN protocol on the tiny COCO:
# the ViTDet model (window attention with global blocks, relative position
# biases, simple feature pyramid, LN heads, layer decay) with the tiny ViT
# (stride 4, so the pyramid's scale factors are 1, 1/2, 1/4, 1/8 for
# strides 4-32), 64-channel neck and heads, 128 px LSJ-style crops.
_base_ = [
    './mask-rcnn_vit-base-p16-sfp_8xb8-amp-lsj-25e_coco.py',
    '../../_base_/tiny_data.py',
]
size = {{_base_.tiny_dense_size}}
num_classes = 8
model = dict(
    data_preprocessor=dict(batch_augments=[
        dict(type='BatchFixedSizePad', size=(size, size), pad_mask=True)
    ]),
    backbone=dict(
        arch={{_base_.tiny_vit_arch}},
        img_size=size,
        patch_size={{_base_.tiny_patch_size}},
        window_size=8,
        global_attn_indexes=(1, 3),
        out_indices=(3, )),
    neck=dict(in_channels=64, out_channels=64,
              scale_factors=(1.0, 0.5, 0.25, 0.125)),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, conv_out_channels=64,
                       fc_out_channels=256, num_classes=num_classes),
        mask_roi_extractor=dict(out_channels=64),
        mask_head=dict(in_channels=64, conv_out_channels=64,
                       num_classes=num_classes)),
    # fewer proposals and RoIs than COCO needs: <= 4 objects per image
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=600, max_per_img=300),
        rcnn=dict(sampler=dict(num=128))))
metainfo = dict(classes={{_base_.tiny_coco_classes}})
data_root = {{_base_.tiny_coco_root}}
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomResize', scale=(size, size), ratio_range=(0.5, 2.0),
         keep_ratio=True),
    dict(type='RandomCrop', crop_type='absolute_range',
         crop_size=(size, size), recompute_bbox=True,
         allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(size, size), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor')),
]
# the tiny COCO is valid: any invalid entry stops the run (the real
# training set drops them with a warning, ./mask-rcnn_vit-base-*_coco.py)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(dataset=dict(data_root=data_root, metainfo=metainfo,
                              pipeline=train_pipeline, skip_invalid=False)))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file={{_base_.tiny_coco_val_ann}})
test_evaluator = val_evaluator
max_epochs = 6
# CPU: no AMP; a higher lr than the recipe's for 144 iterations.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='BackboneLayerDecayOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=4e-4, betas=(0.9, 0.999),
                   weight_decay=0.1),
    paramwise_cfg={{_base_.optim_wrapper.paramwise_cfg}})
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=30),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[5], gamma=0.1),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
