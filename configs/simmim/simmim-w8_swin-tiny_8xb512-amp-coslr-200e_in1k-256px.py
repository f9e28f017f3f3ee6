# Variant of the matched SimMIM Swin-T baseline with UM-MAE's window 8 on the
# dense 64 x 64 stage-1 map instead of the official 16 (implus/UM-MAE
# models_simmim_swin.py L212-218): the same number of tokens per window as
# UM-MAE's encoder, a quarter of the image area, and cheaper attention, so
# its pretraining time is not the published 49.3 h. It isolates the window
# from the masking in the comparison with UM-MAE.
_base_ = './simmim_swin-tiny_8xb512-amp-coslr-200e_in1k-256px.py'
model = dict(backbone=dict(window_size=8))
mimb_variant = 'window 8 (UM-MAE window) at pretraining'
mimb_smoke = './simmim-w8_swin-micro_1xb32-coslr-30e_tiny-in1k-128px.py'
