# Mask R-CNN + FPN with a coordinate-aware Swin-T, 3x: mmdet's Swin-T
# multi-scale-crop 3x recipe (36 epochs, lr x0.1 at 27 and 33) with the
# 1x protocol's encoder settings.
_base_ = [
    'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco.py',
    '../../_base_/mimb_runtime.py',
    '../../_base_/swin.py',
]
mimb_stage = 'det'
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.CoordSwin',
        arch='tiny',
        window_size={{_base_.swin_dense_window}},
        drop_path_rate=0.2,
        out_indices=(0, 1, 2, 3),
        init_cfg={{_base_.swin_dense_init}}))
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    paramwise_cfg=dict(
        _delete_=True,
        custom_keys={'norm': dict(decay_mult=0.)}))
