# UperNet with UM-MAE's PVT-S on ADE20K: the coordinate-aware Swin-T
# protocol (mmseg's 512 x 512, 8 GPUs x 2, 160k iterations; UM-MAE's
# official SEG optimizer upernet_mae_pvt_small_*_lr1e4_lrd1: AdamW lr 1e-4,
# no layer decay) with the PVT-S encoder's four stage outputs through new
# LayerNorms, drop path 0.1 (the official PVT-S SEG config), bf16 AMP. Like
# every protocol of the suite it starts from the pretrained encoder (the
# official run starts from the ImageNet fine-tuned one).
# Set the encoder with
#   --cfg-options model.backbone.init_cfg.checkpoint=<pretrain checkpoint>
_base_ = [
    '../swin/upernet_swin-tiny_8xb2-amp-160k_ade20k-512x512.py',
    '../../_base_/pvt.py',
]
model = dict(
    backbone={{_base_.pvt_dense_backbone}},
    decode_head=dict(in_channels={{_base_.pvt_dense_channels}}),
    auxiliary_head=dict(in_channels=320))
