# Smoke variant of the coordinate-aware Swin linear probe: the ConvViT
# smoke linear probe (64 px, LARS, schedule, batch) on the frozen micro
# Swin.
_base_ = [
    '../convvit/convvit-tiny_1xb32-linear-coslr-30e_tiny-in1k-64px.py',
    '../../_base_/swin.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='CoordSwin',
        arch={{_base_.tiny_swin_arch}},
        window_size={{_base_.swin_dense_window}},
        out_type='avg_featmap',
        frozen_stages=4,
        init_cfg={{_base_.swin_cls_init}}),
    neck=dict(input_features=256),
    head=dict(in_channels=256))
