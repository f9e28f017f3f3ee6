# Mask R-CNN + FPN with UM-MAE's PVT-S, 3x: the coordinate-aware Swin-T 3x
# protocol (mmdet's multi-scale-crop 3x recipe) with the PVT-S 1x protocol's
# encoder settings.
_base_ = [
    '../swin/mask-rcnn_swin-tiny-fpn_8xb2-amp-ms-crop-3x_coco.py',
    '../../_base_/pvt.py',
]
model = dict(
    backbone={{_base_.pvt_dense_backbone}},
    neck=dict(in_channels={{_base_.pvt_dense_channels}}))
