# Mask R-CNN + FPN with a coordinate-aware Swin-L: the Swin-T 1x protocol
# with the large encoder (drop path 0.3, activation checkpointing).
_base_ = './mask-rcnn_swin-tiny-fpn_8xb2-amp-1x_coco.py'
model = dict(
    backbone=dict(arch='large', drop_path_rate=0.3, with_cp=True),
    neck=dict(in_channels=[192, 384, 768, 1536]))
