# Weighted kNN of a frozen coordinate-aware Swin-L: the Swin-T protocol.
_base_ = './swin-tiny_knn-k20_in1k-256px.py'
model = dict(backbone=dict(arch='large'))
