# Mask R-CNN with a plain ViT-B/16 encoder (MAE, EMAE), the ViTDet recipe
# (Li et al. 2022): window attention (14 x 14) in every block but 2, 5, 8,
# 11 (global), decomposed relative position biases, a simple feature pyramid
# (strides 4-32 from the stride-16 map, plus a stride-64 level for the RPN),
# LN in the neck and the 4conv1fc box / mask heads, LSJ at 1024 px,
# AdamW lr 1e-4 at 64 images (8 GPUs x 8), wd 0.1, layer decay 0.7, drop
# path 0.1, 250 warm-up iterations.
# 100 epochs = mmdet's common LSJ schedule: RepeatDataset(times=4) x 25
# epochs, lr x0.1 at epochs 22 and 24 (ViTDet: 163889 and 177546 of 184375
# iterations = 88.9% and 96.3%; 184375 iters * 64 / 118k images = 100 ep).
# Set the encoder with
#   --cfg-options model.backbone.init_cfg.checkpoint=<pretrain checkpoint>
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::common/lsj-100e_coco-instance.py',
    '../../_base_/mimb_runtime.py',
]
mimb_stage = 'det'
norm_cfg = dict(type='mmpretrain.LN2d', requires_grad=True)
image_size = (1024, 1024)
model = dict(
    data_preprocessor=dict(
        pad_size_divisor=32,
        batch_augments=[
            dict(type='BatchFixedSizePad', size=image_size, pad_mask=True)
        ]),
    backbone=dict(
        _delete_=True,
        type='mmpretrain.WindowedViT',
        arch='base',
        img_size=image_size[0],
        patch_size=16,
        window_size=14,
        global_attn_indexes=(2, 5, 8, 11),
        use_rel_pos=True,
        drop_path_rate=0.1,
        out_indices=(11, ),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='',
            prefix='backbone.',
            # new in the detector: relative position tables; dropped from
            # the pretrained encoder: cls token and final norm
            allow_missing=['layers.*.rel_pos_*'],
            allow_unexpected=['cls_token', 'ln1.*'])),
    neck=dict(
        _delete_=True,
        type='SimpleFeaturePyramid',
        in_channels=768,
        out_channels=256,
        scale_factors=(4.0, 2.0, 1.0, 0.5),
        num_outs=5),
    rpn_head=dict(num_convs=2),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',
            conv_out_channels=256,
            norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))

# Data sets checked before training (backbones/datasets/checked.py). COCO
# train2017 has 2 boxes of height 0 (annotation 918 in image 200365, one in
# image 550395; cocodataset/cocoapi#355) that mmdet always dropped silently:
# the training set drops invalid entries with a warning that lists them,
# the validation set stops on any. The smoke configs stop on both.
train_dataloader = dict(
    batch_size=8, num_workers=8,
    dataset=dict(dataset=dict(type='CheckedCocoDataset', skip_invalid=True)))
val_dataloader = dict(dataset=dict(type='CheckedCocoDataset'))
test_dataloader = dict(dataset=dict(type='CheckedCocoDataset'))
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    dtype='bfloat16',
    constructor='BackboneLayerDecayOptimWrapperConstructor',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1),
    paramwise_cfg=dict(
        layer_decay_rate=0.7,
        custom_keys={
            '.pos_embed': dict(decay_mult=0.0),
            '.rel_pos_h': dict(decay_mult=0.0),
            '.rel_pos_w': dict(decay_mult=0.0),
        }))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=250),
    dict(type='MultiStepLR', begin=0, end=25, by_epoch=True,
         milestones=[22, 24], gamma=0.1),
]
