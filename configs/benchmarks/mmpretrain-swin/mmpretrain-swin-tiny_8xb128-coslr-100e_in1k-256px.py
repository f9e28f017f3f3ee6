# End-to-end fine-tuning of mmpretrain's standard Swin-T (SimMIM's
# reference row): the coordinate-aware Swin-T protocol unchanged (UM-MAE
# recipe: 256 px, 8 GPUs x 128, lr 2e-3, layer decay 0.85, drop path 0.1,
# RandAugment, RandomErasing 0.25, Mixup 0.8 / CutMix 1.0, label smoothing,
# 100 epochs) with mmpretrain's SwinTransformer as the encoder: window 16
# (8 on the 8 x 8 stage-4 map, configs/_base_/mmpretrain_swin.py), the
# stage-4 map through the pretrained norm3, then GlobalAveragePooling (the
# standard Swin order; CoordSwin pools first, then normalises). Layer decay
# is mmpretrain's Swin rule (patch embedding lowest, block k at depth
# k + 1, a stage's patch merging with that stage's last block).
# Set the encoder with
#   --cfg-options model.backbone.init_cfg.checkpoint=<pretrain checkpoint>
_base_ = [
    '../swin/swin-tiny_8xb128-coslr-100e_in1k-256px.py',
    '../../_base_/mmpretrain_swin.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='SwinTransformer',
        arch='tiny',
        img_size={{_base_.size}},
        window_size={{_base_.mmpretrain_swin_window}},
        stage_cfgs={{_base_.mmpretrain_swin_cls_stages}},
        drop_path_rate=0.1,
        init_cfg={{_base_.mmpretrain_swin_cls_init}}),
    neck=dict(_delete_=True, type='GlobalAveragePooling'))
