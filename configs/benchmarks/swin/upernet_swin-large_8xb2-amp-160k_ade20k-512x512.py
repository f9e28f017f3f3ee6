# UperNet with a coordinate-aware Swin-L: the Swin-T protocol with the
# large encoder (drop path 0.3, activation checkpointing).
_base_ = './upernet_swin-tiny_8xb2-amp-160k_ade20k-512x512.py'
model = dict(
    backbone=dict(arch='large', drop_path_rate=0.3, with_cp=True),
    decode_head=dict(in_channels=[192, 384, 768, 1536]),
    auxiliary_head=dict(in_channels=768))
