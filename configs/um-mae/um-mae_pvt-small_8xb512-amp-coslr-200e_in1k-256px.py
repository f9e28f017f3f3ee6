# UM-MAE PVT-S, 200 epochs: the published recipe (implus/UM-MAE Makefile,
# pretrain_mae_pvt_small_256_mask_vmr025_200e: the Swin-T recipe's data,
# 4096 images/iter, blr 1.5e-4, 10 warm-up epochs, 256 px, 16 px masking
# patches, 25% secondary masking, norm_pix; model mae_pvt_small_256: PVT-S
# 64/128/320/512 channels, 3/4/6/3 blocks, key/value pooling (4, 2, 1, 1)
# on the half-size compacted map, a fixed sin-cos position table compacted
# with the tokens, decoder 512 x 2 with 16 heads). Published: 79.31 top-1
# after 100 fine-tuning epochs, 21.3 h of pretraining against SimMIM's
# 38.0 h.
_base_ = [
    './um-mae_swin-tiny_8xb512-amp-coslr-200e_in1k-256px.py',
    '../_base_/pvt.py',
]
model = dict(
    backbone=dict(_delete_=True, type='UMMAEPVT', arch='small',
                  pretrain_size=256, sr_ratios=(4, 2, 1, 1),
                  mask_patch_size=16, secondary_ratio=0.25),
    neck=dict(in_channels=512))
mimb_downstream = {{_base_.pvt_small_protocols}}
mimb_smoke = './um-mae_pvt-micro_1xb32-coslr-30e_tiny-in1k-128px.py'
