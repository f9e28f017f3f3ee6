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
        arch={{_base_.tiny_swin_arch}},
        img_size=64,
        window_size={{_base_.mmpretrain_swin_window}},
        stage_cfgs={{_base_.tiny_mmpretrain_swin_cls_stages}},
        drop_path_rate=0.))
test_cfg = dict(
    allow_missing={{_base_.mmpretrain_swin_rebuilt_keys}},
    allow_unexpected={{_base_.mmpretrain_swin_pretrain_only_keys}})
