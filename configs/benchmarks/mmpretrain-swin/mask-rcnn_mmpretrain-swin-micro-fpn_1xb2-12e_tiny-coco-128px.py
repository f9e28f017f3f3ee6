# Smoke variant of the mmpretrain Swin Mask R-CNN protocol on the tiny
# COCO: the coordinate-aware Swin smoke detection run (data, 128 px crops,
# schedule, lr, FPN, no decay on norms) with the protocol's micro
# mmpretrain.SwinTransformer: four stage outputs, window 16 shrunk to the
# stage maps at 128 px (32, 16, 8, 4), padding of smaller maps, drop path
# 0.2.
_base_ = [
    '../swin/mask-rcnn_swin-micro-fpn_1xb2-12e_tiny-coco-128px.py',
    '../../_base_/mmpretrain_swin.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.SwinTransformer',
        arch={{_base_.tiny_swin_arch}},
        window_size={{_base_.mmpretrain_swin_window}},
        stage_cfgs=[dict(), dict(), dict(window_size=8),
                    dict(window_size=4)],
        pad_small_map=True,
        drop_path_rate=0.2,
        out_indices=(0, 1, 2, 3),
        init_cfg={{_base_.mmpretrain_swin_dense_init}}))
