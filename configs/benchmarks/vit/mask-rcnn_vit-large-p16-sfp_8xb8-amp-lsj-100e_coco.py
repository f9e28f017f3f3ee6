# ViTDet Mask R-CNN with a plain ViT-L/16 encoder: the ViT-B protocol with
# global blocks 5, 11, 17, 23, drop path 0.4 and layer decay 0.8 (ViTDet's
# values for ViT-L), activation checkpointing to fit 8 images per GPU.
_base_ = './mask-rcnn_vit-base-p16-sfp_8xb8-amp-lsj-100e_coco.py'
model = dict(
    backbone=dict(
        arch='large',
        global_attn_indexes=(5, 11, 17, 23),
        drop_path_rate=0.4,
        out_indices=(23, ),
        with_cp=True),
    neck=dict(in_channels=1024))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.8))
