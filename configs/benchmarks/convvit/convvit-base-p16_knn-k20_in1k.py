# Weighted kNN (k=20, T=0.07, cosine) of a frozen ConvViT-B encoder
# (ConvMAE): the plain-ViT family's protocol on the mean of the stage-3
# tokens after the pretrained final norm.
# Run: mim test mmpretrain <this config> --checkpoint <pretrain checkpoint>
_base_ = [
    '../vit/vit-base-p16_knn-k20_in1k.py',
    '../../_base_/convvit.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='ConvViT',
        arch='base',
        img_size=224,
        out_type='avg_featmap',
        final_norm=True))
test_cfg = dict(allow_unexpected={{_base_.convmae_fusion_keys}})
