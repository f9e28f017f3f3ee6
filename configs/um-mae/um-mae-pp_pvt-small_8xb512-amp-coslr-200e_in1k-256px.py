# Variant of UM-MAE PVT-S, 200 epochs: the published recipe with per-patch
# decoder positions (every visible token gets its own patch's position
# embedding), as um-mae-pp_swin-tiny; the official decoder (implus/UM-MAE
# models_mae_pvt.py L369-373) pairs the cell-ordered visible tokens with
# the raster-ordered visible positions, which the published config keeps.
_base_ = './um-mae_pvt-small_8xb512-amp-coslr-200e_in1k-256px.py'
model = dict(neck=dict(position_pairing='per-patch'))
mimb_variant = 'per-patch decoder positions'
mimb_smoke = './um-mae-pp_pvt-micro_1xb32-coslr-30e_tiny-in1k-128px.py'
