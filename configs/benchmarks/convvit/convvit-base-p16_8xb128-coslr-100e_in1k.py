# End-to-end fine-tuning of a ConvViT-B encoder (ConvMAE), the ConvMAE
# FINETUNE.md recipe: the same as MAE's ViT-B (8 GPUs x 128 = 1024 images,
# AdamW lr 2e-3 (blr 5e-4), wd 0.05, layer-wise lr decay 0.65, drop path 0.1,
# 5 warm-up + 95 cosine epochs, RandAugment, RandomErasing 0.25, Mixup 0.8 /
# CutMix 1.0, label smoothing 0.1), on the mean of the stage-3 tokens + a new
# fc_norm (the pretraining's final norm and fusion convs are dropped).
# Set the encoder with
#   --cfg-options model.backbone.init_cfg.checkpoint=<pretrain checkpoint>
_base_ = [
    '../vit/vit-base-p16_8xb128-coslr-100e_in1k.py',
    '../../_base_/convvit.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='ConvViT',
        arch='base',
        img_size=224,
        out_type='avg_featmap',
        drop_path_rate=0.1,
        init_cfg={{_base_.convvit_finetune_init}}))
optim_wrapper = dict(paramwise_cfg={{_base_.convvit_finetune_paramwise}})
