# Smoke variant of the PVT linear probe: the coordinate-aware Swin smoke
# linear probe (64 px, LARS, schedule, batch) on the frozen micro PVT.
_base_ = [
    '../swin/swin-micro_1xb32-linear-coslr-30e_tiny-in1k-64px.py',
    '../../_base_/pvt.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='CoordPVT',
        arch={{_base_.tiny_pvt_arch}},
        pretrain_size={{_base_.tiny_pvt_pretrain_size}},
        out_type='avg_featmap',
        frozen_stages=4,
        init_cfg={{_base_.pvt_cls_init}}))
