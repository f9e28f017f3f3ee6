# Smoke variant of the per-patch-positions UM-MAE PVT (um-mae-pp_pvt-small):
# the UM-MAE PVT smoke run with every visible token at its own patch's
# decoder position.
_base_ = './um-mae_pvt-micro_1xb32-coslr-30e_tiny-in1k-128px.py'
model = dict(neck=dict(position_pairing='per-patch'))
mimb_variant = 'per-patch decoder positions'
