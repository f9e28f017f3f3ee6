# Smoke variant of UM-MAE PVT pretraining: the Swin smoke run (128 px crops
# of the tiny ImageNet, 8 x 8 masking grid, 64-d 2-block decoder, schedule,
# optimizer) with the micro PVT (configs/_base_/pvt.py; a 32 x 32
# position table, pooling (4, 2, 1, 1) on the compacted map).
_base_ = [
    './um-mae_swin-micro_1xb32-coslr-30e_tiny-in1k-128px.py',
    '../_base_/pvt.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='UMMAEPVT',
        arch={{_base_.tiny_pvt_arch}},
        pretrain_size={{_base_.tiny_pvt_pretrain_size}},
        sr_ratios=(4, 2, 1, 1),
        mask_patch_size=16,
        secondary_ratio=0.25))
mimb_downstream = {{_base_.tiny_pvt_protocols}}
