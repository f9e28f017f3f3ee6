# Linear probing of a frozen ConvViT-B encoder (ConvMAE): the MAE LINPROBE.md
# protocol of the plain-ViT family (BatchNorm without affine + linear head,
# LARS lr 6.4, 90 epochs, 8 GPUs x 2048) on the mean of the stage-3 tokens
# after the pretrained final norm (ConvMAE has no cls token). Every encoder
# key comes from the checkpoint; only the two fusion convs are left out.
_base_ = [
    '../vit/vit-base-p16_8xb2048-linear-coslr-90e_in1k.py',
    '../../_base_/convvit.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='ConvViT',
        arch='base',
        img_size=224,
        out_type='avg_featmap',
        final_norm=True,
        frozen_stages=3,
        init_cfg={{_base_.convvit_linear_init}}))
