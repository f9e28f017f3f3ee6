# End-to-end fine-tuning of UM-MAE's PVT-S: the UM-MAE recipe (implus/UM-MAE
# Makefile finetune_mae_pvt_small_256_*: the Swin-T one, 256 px, 1024
# images, blr 5e-4 -> lr 2e-3, layer decay 0.85, drop path 0.1, 100 epochs)
# through the coordinate-aware Swin-T protocol, with the PVT-S encoder: key
# /value pooling (8, 4, 2, 1), the pretrained position table learnable, the
# mean of the stage-4 tokens through the pretrained final norm. Layer decay
# as the official code: patch embedding and position table lowest, block k
# at depth k + 1.
# Set the encoder with
#   --cfg-options model.backbone.init_cfg.checkpoint=<pretrain checkpoint>
_base_ = [
    '../swin/swin-tiny_8xb128-coslr-100e_in1k-256px.py',
    '../../_base_/pvt.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='CoordPVT',
        arch='small',
        out_type='avg_featmap',
        drop_path_rate=0.1,
        init_cfg={{_base_.pvt_cls_init}}),
    head=dict(in_channels=512))
