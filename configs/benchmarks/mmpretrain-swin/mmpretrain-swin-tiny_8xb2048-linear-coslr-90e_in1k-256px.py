# Linear probing of a frozen mmpretrain Swin-T (SimMIM's reference row): the
# coordinate-aware Swin-T protocol (BatchNorm without affine + linear head,
# LARS lr 6.4, 90 epochs, 8 GPUs x 2048) on the mean of the stage-4 map
# after the pretrained norm3; every encoder key from the checkpoint, window
# 16 as in fine-tuning (8 on the 8 x 8 stage-4 map).
_base_ = [
    '../swin/swin-tiny_8xb2048-linear-coslr-90e_in1k-256px.py',
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
        drop_path_rate=0.,
        frozen_stages=3,  # patch embedding, stages 1-4 and norm3
        init_cfg={{_base_.mmpretrain_swin_cls_init}}),
    neck=[dict(type='GlobalAveragePooling'),
          dict(type='ClsBatchNormNeck', input_features=768)])
