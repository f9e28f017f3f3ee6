# Mask R-CNN + FPN with UM-MAE's PVT-S: the coordinate-aware Swin-T 1x
# protocol (mmdet's Swin-T recipe: 12 epochs, 1333 x 800, 8 GPUs x 2, AdamW
# lr 1e-4, wd 0.05, no decay on norms) with the PVT-S encoder's four stage
# outputs (strides 4-32, each through a new LayerNorm, as the official DET
# backbone's up-projections start) into the FPN; bf16 AMP.
# Set the encoder with
#   --cfg-options model.backbone.init_cfg.checkpoint=<pretrain checkpoint>
_base_ = [
    '../swin/mask-rcnn_swin-tiny-fpn_8xb2-amp-1x_coco.py',
    '../../_base_/pvt.py',
]
model = dict(
    backbone={{_base_.pvt_dense_backbone}},
    neck=dict(in_channels={{_base_.pvt_dense_channels}}))
