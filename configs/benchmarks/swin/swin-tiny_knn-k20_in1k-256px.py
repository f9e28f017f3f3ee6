# Weighted kNN (k=20, T=0.07, cosine) of a frozen coordinate-aware Swin-T:
# the plain-ViT family's protocol on the mean of the stage-4 tokens after
# the pretrained final norm.
# Run: mim test mmpretrain <this config> --checkpoint <pretrain checkpoint>
_base_ = [
    '../vit/vit-base-p16_knn-k20_in1k.py',
    '../../_base_/swin.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='CoordSwin',
        arch='tiny',
        window_size={{_base_.swin_dense_window}},
        out_type='avg_featmap'))
test_cfg = dict(allow_unexpected={{_base_.swin_pretrain_only_keys}})
