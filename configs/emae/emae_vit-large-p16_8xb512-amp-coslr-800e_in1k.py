# EMAE ViT-L/16, 800 epochs: the MAE ViT-L 800-epoch recipe with EMAE's
# K = 4 parallel parts and self-consistency (MSE, weight 1, as ViT-B; the
# evidence is in backbones/models/selfsup/emae.py).
_base_ = '../mae/mae_vit-large-p16_8xb512-amp-coslr-800e_in1k.py'
model = dict(
    type='EMAE',
    backbone=dict(type='EMAEViT'),
    sc_weight=1.0,
    sc_distance='mse')
mimb_smoke = './emae_vit-tiny-p4_1xb32-coslr-30e_tiny-in1k-32px.py'
