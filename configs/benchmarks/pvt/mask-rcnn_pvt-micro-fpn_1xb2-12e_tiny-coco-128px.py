# Smoke variant of the PVT Mask R-CNN protocol on the tiny COCO: the
# coordinate-aware Swin smoke detection run (data, 128 px crops, schedule,
# lr, FPN with the same 32/64/128/256 inputs) with the micro PVT's four
# stage outputs through new norms.
_base_ = [
    '../swin/mask-rcnn_swin-micro-fpn_1xb2-12e_tiny-coco-128px.py',
    '../../_base_/pvt.py',
]
model = dict(backbone={{_base_.tiny_pvt_dense_backbone}})
