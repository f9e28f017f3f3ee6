# Mask R-CNN + FPN with a coordinate-aware Swin-T (UM-MAE, SimMIM): mmdet's
# Swin-T recipe (1x: 12 epochs, 1333 x 800, 8 GPUs x 2, AdamW lr 1e-4, wd
# 0.05, no decay on norms, drop path 0.2, lr x0.1 at epochs 8 and 11) with
# the encoder's four stage outputs (strides 4-32, each through a new
# LayerNorm) and window 16; bf16 AMP.
# Set the encoder with
#   --cfg-options model.backbone.init_cfg.checkpoint=<pretrain checkpoint>
_base_ = [
    'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py',
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
