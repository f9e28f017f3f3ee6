# Smoke variant of the PVT UperNet protocol on the tiny ADE20K: the
# coordinate-aware Swin smoke segmentation run (data, 64 px crops, 300
# iterations, lr, UPerHead on 32/64/128/256 channels) with the micro PVT's
# four stage outputs through new norms.
_base_ = [
    '../swin/upernet_swin-micro_1xb4-300i_tiny-ade20k-64x64.py',
    '../../_base_/pvt.py',
]
model = dict(backbone={{_base_.tiny_pvt_dense_backbone}})
