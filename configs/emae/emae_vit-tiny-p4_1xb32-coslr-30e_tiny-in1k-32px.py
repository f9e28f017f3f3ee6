# Smoke variant of EMAE: the MAE smoke run (same tiny ViT, data, optimizer,
# 30 epochs) with K = 4 parallel parts and self-consistency (MSE, weight 1,
# as ViT-B/L: mimb-emae-study measured it here, evidence in
# backbones/models/selfsup/emae.py), so the two smoke rows of the leaderboard differ only
# in the method.
_base_ = '../mae/mae_vit-tiny-p4_1xb32-coslr-30e_tiny-in1k-32px.py'
model = dict(
    type='EMAE',
    backbone=dict(type='EMAEViT'),
    sc_weight=1.0,
    sc_distance='mse')
