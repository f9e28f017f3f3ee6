# Smoke variant of the coordinate-aware Swin fine-tuning protocol: the
# ConvViT smoke fine-tuning (64 px crops of the tiny ImageNet, plain-ViT
# smoke augmentations, schedule, batch and lr) with the Swin-T protocol's
# encoder settings (window 16 -> one window per stage here, mean of the
# stage-4 tokens through the pretrained norm, layer decay 0.85).
_base_ = [
    '../convvit/convvit-tiny_1xb32-coslr-8e_tiny-in1k-64px.py',
    '../../_base_/swin.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='CoordSwin',
        arch={{_base_.tiny_swin_arch}},
        window_size={{_base_.swin_dense_window}},
        out_type='avg_featmap',
        drop_path_rate=0.1,
        init_cfg={{_base_.swin_cls_init}}),
    head=dict(in_channels=256))
optim_wrapper = dict(
    paramwise_cfg=dict(
        _delete_=True,
        layer_decay_rate=0.85,
        flat_decay_mult=0.0))
