# EMAE ViT-B/16, 300 epochs (the paper's claim: beats MAE at 1600 epochs):
# MAE's optimizer recipe unchanged (8 GPUs x 512 images, AdamW (0.9, 0.95),
# wd 0.05, lr = 1.5e-4 * 4096 / 256, 40 warm-up epochs then cosine, bf16)
# with the parallel mask strategy: every image is cut into K = 4 disjoint
# parts of 25% visible patches, so the encoder sees 4 x 512 sequences per
# GPU per iteration, and the self-consistency loss (MSE, weight 1: the
# distance the paper leaves open, chosen by mimb-emae-study, evidence in
# backbones/models/selfsup/emae.py).
_base_ = '../mae/mae_vit-base-p16_8xb512-amp-coslr-800e_in1k.py'
model = dict(
    type='EMAE',
    backbone=dict(type='EMAEViT'),
    sc_weight=1.0,
    sc_distance='mse')
max_epochs = 300
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-9, by_epoch=True, begin=0, end=40,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 40, by_epoch=True,
         begin=40, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
mimb_smoke = './emae_vit-tiny-p4_1xb32-coslr-30e_tiny-in1k-32px.py'
