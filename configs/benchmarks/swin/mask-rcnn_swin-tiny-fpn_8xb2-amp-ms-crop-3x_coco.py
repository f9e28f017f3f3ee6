# Mask R-CNN + FPN with a coordinate-aware Swin-T, 3x: mmdet's Swin-T
# multi-scale-crop 3x recipe (36 epochs, lr x0.1 at 27 and 33) with the
# 1x protocol's encoder settings.
_base_ = [
    'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco.py',
    '../../_base_/mimb_runtime.py',
    '../../_base_/swin.py',
]
mimb_stage = 'det'
# Data sets checked before training (backbones/datasets/checked.py). COCO
# train2017 has 2 boxes of height 0 (annotation 918 in image 200365, one in
# image 550395; cocodataset/cocoapi#355) that mmdet always dropped silently:
# the training set drops invalid entries with a warning that lists them,
# the validation set stops on any. The smoke configs stop on both.
train_dataloader = dict(
    dataset=dict(type='CheckedCocoDataset', skip_invalid=True))
val_dataloader = dict(dataset=dict(type='CheckedCocoDataset'))
test_dataloader = dict(dataset=dict(type='CheckedCocoDataset'))
model = dict(backbone={{_base_.swin_dense_backbone}})
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    paramwise_cfg={{_base_.swin_dense_paramwise}})
