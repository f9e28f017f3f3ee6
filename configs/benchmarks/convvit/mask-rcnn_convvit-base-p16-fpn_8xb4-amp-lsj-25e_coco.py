# Mask R-CNN with a ConvViT-B encoder (ConvMAE), the published ConvMAE
# detection recipe (Alpha-VL/ConvMAE DET/, ViTDet-style benchmarking): the
# multi-scale ConvViT feeds stages 1-3 (strides 4, 8, 16) and a 2 x 2
# max-pooled stage 3 (stride 32) to an FPN (+ stride-64 max-pool level);
# stage 3 runs 16 x 16 window attention except in blocks 0, 3, 6, 10
# (global; DET/models/convmae.py L623-695), with relative position bias
# tables as the official: one learnable bias per head and offset, one table
# shared by the windowed blocks and one by the global blocks (L515-520,
# zero-initialised, no weight decay: DET/configs/convmae/
# convmae_base_mask_rcnn_FPN_100ep.py L136); 4conv1fc box head, SyncBN in FPN
# and heads, LSJ at 1024 px, 8 GPUs x 4 = 32 images, AdamW lr 8e-5, wd 0.1
# (none on norms and position tables), no layer decay, drop path 0.1, the
# pretrained position table frozen (the official `sincos_pos_embed=True`
# freezes it), 25 epochs (92k iterations at 32 images) cosine after a
# 0.5% linear warm-up.
# Difference from the official code: windows are zero-padded when the grid
# is not a multiple of 16, and a test grid larger than 64 x 64 resizes the
# global table (the official tests at 1024 px only).
# Set the encoder with
#   --cfg-options model.backbone.init_cfg.checkpoint=<pretrain checkpoint>
_base_ = [
    '../vit/mask-rcnn_vit-base-p16-sfp_8xb8-amp-lsj-25e_coco.py',
    '../../_base_/convvit.py',
]
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.ConvViT',
        arch='base',
        img_size=1024,
        window_size=16,
        global_attn_indexes=(0, 3, 6, 10),
        shared_rel_pos_bias=True,
        drop_path_rate=0.1,
        out_indices=(0, 1, 2, 3),
        init_cfg={{_base_.convvit_dense_init}}),
    neck=dict(
        _delete_=True,
        type='FPN',
        in_channels=[256, 384, 768, 768],
        out_channels=256,
        norm_cfg=norm_cfg,
        num_outs=5),
    roi_head=dict(
        bbox_head=dict(norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))
train_dataloader = dict(batch_size=4)
max_epochs = 25
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(
        type='AdamW', lr=8e-5, betas=(0.9, 0.999), weight_decay=0.1),
    paramwise_cfg={{_base_.convvit_det_paramwise}})
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=461),
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True,
         begin=0, end=max_epochs, eta_min=0.0, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=32)
