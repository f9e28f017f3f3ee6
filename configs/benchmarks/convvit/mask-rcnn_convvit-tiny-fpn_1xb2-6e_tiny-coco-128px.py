# Smoke variant of the ConvViT Mask R-CNN protocol on the tiny COCO: the
# plain-ViT smoke detection run (data, 128 px crops, schedule, lr) with the
# ConvViT-B protocol's model: four levels (strides 4-32) into an FPN,
# window attention (4 x 4 windows on the 8 x 8 stage-3 grid) except in one
# global block, relative position bias tables shared by the windowed and by
# the global blocks, 4conv1fc heads, no layer decay, a
# frozen position table; the recipe's SyncBN (plain BN on one process:
# MMEngine reverts it).
_base_ = [
    '../vit/mask-rcnn_vit-tiny-p4-sfp_1xb2-6e_tiny-coco-128px.py',
    '../../_base_/convvit.py',
]
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.ConvViT',
        arch={{_base_.tiny_convvit_arch}},
        img_size={{_base_.tiny_dense_size}},
        window_size=4,
        global_attn_indexes=(1, ),
        shared_rel_pos_bias=True,
        drop_path_rate=0.1,
        out_indices=(0, 1, 2, 3),
        init_cfg={{_base_.convvit_dense_init}}),
    neck=dict(
        _delete_=True,
        type='FPN',
        in_channels=[32, 48, 64, 64],
        out_channels=64,
        norm_cfg=norm_cfg,
        num_outs=5),
    roi_head=dict(
        bbox_head=dict(norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=4e-4, betas=(0.9, 0.999),
                   weight_decay=0.1),
    paramwise_cfg={{_base_.convvit_det_paramwise}})
