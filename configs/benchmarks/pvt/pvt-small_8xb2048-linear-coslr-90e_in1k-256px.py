# Linear probing of a frozen UM-MAE PVT-S: the coordinate-aware Swin-T
# protocol (the plain-ViT family's BatchNorm + linear head, LARS lr 6.4, 90
# epochs, 8 GPUs x 2048) on the mean of the stage-4 tokens after the
# pretrained final norm; every encoder key from the checkpoint.
_base_ = [
    '../swin/swin-tiny_8xb2048-linear-coslr-90e_in1k-256px.py',
    '../../_base_/pvt.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='CoordPVT',
        arch='small',
        out_type='avg_featmap',
        frozen_stages=4,
        init_cfg={{_base_.pvt_cls_init}}),
    neck=dict(input_features=512),
    head=dict(in_channels=512))
