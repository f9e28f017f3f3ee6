# Smoke variant of the coordinate-aware Swin kNN protocol (64 px crops of
# the tiny ImageNet).
_base_ = [
    '../convvit/convvit-tiny_knn-k20_tiny-in1k-64px.py',
    '../../_base_/swin.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='CoordSwin',
        arch={{_base_.tiny_swin_arch}},
        window_size={{_base_.swin_dense_window}},
        out_type='avg_featmap'))
test_cfg = dict(allow_unexpected={{_base_.swin_pretrain_only_keys}})
