# Smoke variant of the matched SimMIM PVT baseline: the SimMIM Swin smoke
# run (128 px crops, 75% of the 16 px patches hidden, linear pixel decoder,
# L1, schedule, optimizer) with the micro PVT of the UM-MAE PVT smoke run,
# so the two smoke rows differ only in masking.
_base_ = [
    './simmim_swin-micro_1xb32-coslr-30e_tiny-in1k-128px.py',
    '../_base_/pvt.py',
]
model = dict(
    backbone=dict(_delete_=True, type='SimMIMCoordPVT',
                  arch={{_base_.tiny_pvt_arch}},
                  pretrain_size={{_base_.tiny_pvt_pretrain_size}}))
mimb_downstream = {{_base_.tiny_pvt_protocols}}
