# Weighted kNN (k=20, T=0.07, cosine) of a frozen mmpretrain Swin-T
# (SimMIM's reference row): the coordinate-aware Swin-T protocol on the
# mean of the stage-4 map after the pretrained norm3, window 16 (8 on the
# 8 x 8 stage-4 map).
# Run: mim test mmpretrain <this config> --checkpoint <pretrain checkpoint>
_base_ = [
    '../swin/swin-tiny_knn-k20_in1k-256px.py',
    '../../_base_/mmpretrain_swin.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='SwinTransformer',
        arch='tiny',
        img_size=256,
        window_size={{_base_.mmpretrain_swin_window}},
        stage_cfgs={{_base_.mmpretrain_swin_cls_stages}},
        drop_path_rate=0.))
test_cfg = dict(
    allow_missing={{_base_.mmpretrain_swin_rebuilt_keys}},
    allow_unexpected={{_base_.mmpretrain_swin_pretrain_only_keys}})
