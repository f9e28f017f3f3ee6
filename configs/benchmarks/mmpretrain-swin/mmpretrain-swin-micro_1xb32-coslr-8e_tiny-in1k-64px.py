# Smoke variant of the mmpretrain Swin fine-tuning protocol: the
# coordinate-aware Swin smoke fine-tuning (64 px crops of the tiny ImageNet,
# schedule, batch, lr, layer decay 0.85) with mmpretrain's SwinTransformer
# of the micro dims: window 16 shrunk to the stage maps (16, 8, 4, 2 at
# 64 px: one window per stage, as CoordSwin does there), norm3 then
# GlobalAveragePooling.
_base_ = [
    '../swin/swin-micro_1xb32-coslr-8e_tiny-in1k-64px.py',
    '../../_base_/mmpretrain_swin.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='SwinTransformer',
        arch={{_base_.tiny_swin_arch}},
        img_size={{_base_.size}},
        window_size={{_base_.mmpretrain_swin_window}},
        stage_cfgs={{_base_.tiny_mmpretrain_swin_cls_stages}},
        drop_path_rate=0.1,
        init_cfg={{_base_.mmpretrain_swin_cls_init}}),
    neck=dict(_delete_=True, type='GlobalAveragePooling'))
