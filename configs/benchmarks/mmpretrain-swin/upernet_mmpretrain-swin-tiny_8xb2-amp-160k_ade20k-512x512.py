# UperNet with mmpretrain's standard Swin-T (SimMIM's reference row) on
# ADE20K: the coordinate-aware Swin-T protocol unchanged (mmseg's Swin-T
# recipe: 512 x 512 crops, 8 GPUs x 2, 160k iterations; UM-MAE's AdamW lr
# 1e-4 without layer decay; bf16 AMP) with mmpretrain.SwinTransformer: the
# four stage outputs (new norm0-norm2, the pretrained norm3), window 16
# with mmpretrain's padding of smaller maps, drop path 0.2
# (configs/_base_/mmpretrain_swin.py).
# Set the encoder with
#   --cfg-options model.backbone.init_cfg.checkpoint=<pretrain checkpoint>
_base_ = [
    '../swin/upernet_swin-tiny_8xb2-amp-160k_ade20k-512x512.py',
    '../../_base_/mmpretrain_swin.py',
]
model = dict(backbone={{_base_.mmpretrain_swin_dense_backbone}})
