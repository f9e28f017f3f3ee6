# Mask R-CNN + FPN with mmpretrain's standard Swin-T (SimMIM's reference
# row): the coordinate-aware Swin-T 1x protocol unchanged (mmdet's Swin-T
# recipe: 12 epochs, 1333 x 800, 8 GPUs x 2, AdamW lr 1e-4, wd 0.05, no
# decay on norms, lr x0.1 at epochs 8 and 11; bf16 AMP) with
# mmpretrain.SwinTransformer: the four stage outputs (new norm0-norm2, the
# pretrained norm3), window 16 with mmpretrain's padding of smaller maps,
# drop path 0.2 (configs/_base_/mmpretrain_swin.py).
# Set the encoder with
#   --cfg-options model.backbone.init_cfg.checkpoint=<pretrain checkpoint>
_base_ = [
    '../swin/mask-rcnn_swin-tiny-fpn_8xb2-amp-1x_coco.py',
    '../../_base_/mmpretrain_swin.py',
]
model = dict(backbone={{_base_.mmpretrain_swin_dense_backbone}})
