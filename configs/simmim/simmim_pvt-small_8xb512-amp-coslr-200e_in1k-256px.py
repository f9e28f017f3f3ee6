# SimMIM PVT-S at UM-MAE's budget, UM-MAE's matched baseline for the PVT
# (implus/UM-MAE models_simmim_pvt.py, simmim_pvt_small_256: the encoder
# sees every token, hidden ones replaced by a mask token before the fixed
# sin-cos position table is added, key/value pooling (8, 4, 2, 1) on the
# dense map; published pretraining time 38.0 h against UM-MAE's 21.3 h):
# the SimMIM Swin-T config's data, masking (75% of the 16 px patches),
# batch, optimizer and 200-epoch schedule with the UM-MAE PVT-S encoder, so
# the two PVT rows differ only in masking.
_base_ = [
    './simmim_swin-tiny_8xb512-amp-coslr-200e_in1k-256px.py',
    '../_base_/pvt.py',
]
model = dict(
    backbone=dict(_delete_=True, type='SimMIMCoordPVT', arch='small',
                  pretrain_size=256),
    neck=dict(in_channels=512))
mimb_downstream = {{_base_.pvt_small_protocols}}
mimb_smoke = './simmim_pvt-micro_1xb32-coslr-30e_tiny-in1k-128px.py'
