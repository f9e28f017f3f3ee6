# Fine-tuning of a coordinate-aware Swin-L (UM-MAE 800e): the Swin-T
# protocol with the large encoder, drop path 0.2 and layer decay 0.9
# (the deeper stack), activation checkpointing.
_base_ = './swin-tiny_8xb128-coslr-100e_in1k-256px.py'
model = dict(
    backbone=dict(arch='large', drop_path_rate=0.2, with_cp=True),
    head=dict(in_channels=1536))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.9))
