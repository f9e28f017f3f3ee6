# UperNet with a ConvViT-B encoder (ConvMAE) on ADE20K, the published
# ConvMAE segmentation recipe (Alpha-VL/ConvMAE SEG/): the four levels
# (stages 1-3 at strides 4, 8, 16 and stage 3 max-pooled to 32; 256, 384,
# 768, 768 channels) go straight to the UPerHead (no resampling neck);
# global attention in stage 3 with one relative position bias table per
# block (BEiT style, zero init: SEG/backbone/convmae.py L108-133, L356-360;
# weight decay on it as the official, which exempts only 1-D parameters:
# SEG/mmcv_custom/layer_decay_optimizer_constructor.py L47), 512 x 512
# crops, 8 GPUs x 2, AdamW lr 1e-4, wd 0.05, layer decay 0.75, drop path
# 0.2, 1500 warm-up iterations then poly, 160k iterations, sliding-window
# test; layer scale (init 1.0, new parameters: ConvMAE's pretraining has
# none) on the stage-3 blocks' attention and MLP branches as the official
# backbone (SEG/configs/convmae/upernet_convmae_base_512_slide_160k_
# ade20k.py L20 init_values=1.; SEG/backbone/convmae.py L190-202), without
# weight decay (1-D, L47 of SEG/mmcv_custom/
# layer_decay_optimizer_constructor.py).
# Differences from the official code: the stride-32 level is a 2 x 2
# max-pool where the official has a 3 x 3 stride-2 conv + SyncBN + GELU
# (SEG/backbone/convmae.py L364-368), and the position table is exempt from
# weight decay (the official's no-decay name check misses its 'backbone.'
# prefix, L47).
# Set the encoder with
#   --cfg-options model.backbone.init_cfg.checkpoint=<pretrain checkpoint>
_base_ = [
    '../vit/upernet_vit-base-p16-mln_8xb2-amp-160k_ade20k-512x512.py',
    '../../_base_/convvit.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.ConvViT',
        arch='base',
        img_size=512,
        block_rel_pos_bias=True,
        layer_scale_init_value=1.0,
        drop_path_rate=0.2,
        out_indices=(0, 1, 2, 3),
        init_cfg={{_base_.convvit_dense_init}}),
    neck=None,
    decode_head=dict(in_channels=[256, 384, 768, 768], channels=768),
    auxiliary_head=dict(in_channels=768, in_index=2))
optim_wrapper = dict(
    paramwise_cfg=dict(
        _delete_=True,
        layer_decay_rate=0.75,
        norm_decay_mult=0.0,
        custom_keys={
            '.pos_embed': dict(decay_mult=0.0),
            '.gamma': dict(decay_mult=0.0),
        }))
