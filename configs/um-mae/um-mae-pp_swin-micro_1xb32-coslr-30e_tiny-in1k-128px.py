# Smoke variant of the per-patch-positions UM-MAE (um-mae-pp_swin-tiny): the
# UM-MAE Swin smoke run with every visible token at its own patch's decoder
# position.
_base_ = './um-mae_swin-micro_1xb32-coslr-30e_tiny-in1k-128px.py'
model = dict(neck=dict(position_pairing='per-patch'))
mimb_variant = 'per-patch decoder positions'
