# Smoke variant of the mmpretrain Swin linear probe: the coordinate-aware
# Swin smoke linear probe (64 px, LARS, schedule, batch) on the frozen micro
# mmpretrain Swin (windows as its smoke fine-tuning).
_base_ = [
    '../swin/swin-micro_1xb32-linear-coslr-30e_tiny-in1k-64px.py',
    '../../_base_/mmpretrain_swin.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='SwinTransformer',
        arch={{_base_.tiny_swin_arch}},
        img_size=64,
        window_size={{_base_.mmpretrain_swin_window}},
        stage_cfgs={{_base_.tiny_mmpretrain_swin_cls_stages}},
        drop_path_rate=0.,
        frozen_stages=3,
        init_cfg={{_base_.mmpretrain_swin_cls_init}}),
    neck=[dict(type='GlobalAveragePooling'),
          dict(type='ClsBatchNormNeck', input_features=256)])
