# Weighted kNN top-1 on frozen features of a plain-ViT-L/16 encoder: the
# ViT-B protocol (k=20, T=0.07, cls token after the final norm) on ViT-L.
# Run: mim test mmpretrain <this config> --checkpoint <pretrain checkpoint>
_base_ = './vit-base-p16_knn-k20_in1k.py'
model = dict(backbone=dict(arch='large'))
