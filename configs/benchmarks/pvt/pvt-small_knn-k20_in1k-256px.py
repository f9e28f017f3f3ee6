# Weighted kNN (k=20, T=0.07, cosine) of a frozen UM-MAE PVT-S: the
# coordinate-aware Swin-T protocol on the mean of the stage-4 tokens after
# the pretrained final norm.
# Run: mim test mmpretrain <this config> --checkpoint <pretrain checkpoint>
_base_ = [
    '../swin/swin-tiny_knn-k20_in1k-256px.py',
    '../../_base_/pvt.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='CoordPVT',
        arch='small',
        out_type='avg_featmap'))
