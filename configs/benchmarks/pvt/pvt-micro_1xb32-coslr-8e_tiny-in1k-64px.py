# Smoke variant of the PVT fine-tuning protocol: the coordinate-aware Swin
# smoke fine-tuning (64 px crops of the tiny ImageNet, schedule, batch, lr,
# layer decay 0.85) with the micro PVT (pretrained on 128 px: its position
# table is resized to the 16 x 16 grid in the forward pass).
_base_ = [
    '../swin/swin-micro_1xb32-coslr-8e_tiny-in1k-64px.py',
    '../../_base_/pvt.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='CoordPVT',
        arch={{_base_.tiny_pvt_arch}},
        pretrain_size={{_base_.tiny_pvt_pretrain_size}},
        out_type='avg_featmap',
        drop_path_rate=0.1,
        init_cfg={{_base_.pvt_cls_init}}))
