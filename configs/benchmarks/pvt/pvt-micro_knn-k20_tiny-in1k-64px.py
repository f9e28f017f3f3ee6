# Smoke variant of the PVT kNN protocol (64 px crops of the tiny ImageNet).
_base_ = [
    '../swin/swin-micro_knn-k20_tiny-in1k-64px.py',
    '../../_base_/pvt.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='CoordPVT',
        arch={{_base_.tiny_pvt_arch}},
        pretrain_size={{_base_.tiny_pvt_pretrain_size}},
        out_type='avg_featmap'))
