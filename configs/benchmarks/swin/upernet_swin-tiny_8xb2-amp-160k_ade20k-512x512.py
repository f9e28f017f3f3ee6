# UperNet with a coordinate-aware Swin-T (UM-MAE, SimMIM) on ADE20K:
# mmseg's Swin-T recipe (512 x 512 crops, 8 GPUs x 2, 160k iterations,
# 1500 warm-up then poly) with UM-MAE's optimizer (official SEG config
# upernet_mae_swin_tiny_*_lr1e4_lrd1: AdamW lr 1e-4, no layer decay), the
# encoder's four stage outputs through new LayerNorms, window 16, drop path
# 0.2 (mmseg's Swin-T), bf16 AMP. Unlike the official run, which starts
# from the ImageNet fine-tuned encoder, the protocol starts from the
# pretrained one, as every protocol of the suite does.
# Set the encoder with
#   --cfg-options model.backbone.init_cfg.checkpoint=<pretrain checkpoint>
_base_ = [
    'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_'
    'ade20k-512x512.py',
    '../../_base_/mimb_runtime.py',
    '../../_base_/swin.py',
]
mimb_stage = 'seg'
# Data sets checked before training (backbones/datasets/checked.py).
train_dataloader = dict(dataset=dict(type='CheckedADE20KDataset'))
val_dataloader = dict(dataset=dict(type='CheckedADE20KDataset'))
test_dataloader = dict(dataset=dict(type='CheckedADE20KDataset'))
model = dict(
    pretrained=None,
    backbone={{_base_.swin_dense_backbone}})
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999),
                   weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=0.)}))
