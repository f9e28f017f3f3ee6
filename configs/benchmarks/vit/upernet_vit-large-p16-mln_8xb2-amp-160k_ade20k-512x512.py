# UperNet with a plain ViT-L/16 encoder: the ViT-B protocol with features of
# blocks 7, 11, 15, 23, drop path 0.2, layer decay 0.75 (as the ViT-L
# fine-tuning protocol) and activation checkpointing.
_base_ = './upernet_vit-base-p16-mln_8xb2-amp-160k_ade20k-512x512.py'
model = dict(
    backbone=dict(
        arch='large', drop_path_rate=0.2, out_indices=(7, 11, 15, 23),
        with_cp=True),
    neck=dict(in_channels=[1024, 1024, 1024, 1024], out_channels=1024),
    decode_head=dict(in_channels=[1024, 1024, 1024, 1024], channels=1024),
    auxiliary_head=dict(in_channels=1024))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.75))
