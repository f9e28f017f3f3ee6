# Linear probing of a frozen coordinate-aware Swin-L: the Swin-T protocol.
_base_ = './swin-tiny_8xb2048-linear-coslr-90e_in1k-256px.py'
model = dict(backbone=dict(arch='large'), neck=dict(input_features=1536),
             head=dict(in_channels=1536))
