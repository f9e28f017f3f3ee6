# Smoke variant of the mmpretrain Swin kNN protocol (64 px crops of the
# tiny ImageNet, windows as its smoke fine-tuning).
_base_ = [
    '../swin/swin-micro_knn-k20_tiny-in1k-64px.py',
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
        drop_path_rate=0.))
test_cfg = dict(
    allow_missing={{_base_.mmpretrain_swin_rebuilt_keys}},
    allow_unexpected={{_base_.mmpretrain_swin_pretrain_only_keys}})
