# Smoke variant of the mmpretrain Swin linear probe: the coordinate-aware
# Swin smoke linear probe (64 px, LARS, schedule, batch) on the frozen micro
# mmpretrain Swin (windows as its smoke fine-tuning).
_base_ = [
    '../swin/swin-micro_1xb32-linear-coslr-10e_tiny-in1k-64px.py',
    '../../_base_/mmpretrain_swin.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='SwinTransformer',
        arch=dict(embed_dims={{_base_.tiny_swin_arch.embed_dims}},
                  depths={{_base_.tiny_swin_arch.depths}},
                  num_heads={{_base_.tiny_swin_arch.num_heads}}),
        img_size=64,
        window_size={{_base_.mmpretrain_swin_window}},
        stage_cfgs=[dict(), dict(window_size=8), dict(window_size=4),
                    dict(window_size=2)],
        drop_path_rate=0.,
        frozen_stages=3,
        init_cfg={{_base_.mmpretrain_swin_cls_init}}),
    neck=[dict(type='GlobalAveragePooling'),
          dict(type='ClsBatchNormNeck', input_features=256)])
