# Smoke variant of the window-8 SimMIM Swin (simmim-w8_swin-tiny): the
# SimMIM Swin smoke run with window 8 at pretraining.
_base_ = './simmim_swin-micro_1xb32-coslr-30e_tiny-in1k-128px.py'
model = dict(backbone=dict(window_size=8))
mimb_variant = 'window 8 (UM-MAE window) at pretraining'
