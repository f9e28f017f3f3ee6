# MAE ViT-B/16, 1600 epochs: the published recipe (facebookresearch/mae
# PRETRAIN.md) as mmpretrain ships it: 8 GPUs x 512 = 4096 images/iter,
# AdamW betas (0.9, 0.95), wd 0.05, lr = 1.5e-4 * 4096 / 256, 40 warm-up
# epochs then cosine, RandomResizedCrop(224, 0.2-1) + flip, mask ratio 0.75,
# norm_pix MSE, decoder 512 x 8; auto_scale_lr(base_batch_size=4096) applies
# with --auto-scale-lr on another GPU count. We add bf16 AMP and our hooks.
_base_ = [
    'mmpretrain::mae/mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k.py',
    '../_base_/mimb_runtime.py',
]
mimb_stage = 'pretrain'
optim_wrapper = dict(dtype='bfloat16')
# mmengine adds `_scope_` to every typed dict of a `pkg::` base and then
# passes it to the collate function, which rejects it: restate it here.
# The image list is checked before training (backbones/datasets/checked.py).
train_dataloader = dict(
    collate_fn=dict(_delete_=True, type='default_collate'),
    dataset=dict(type='CheckedImageNet'))
# The plain-ViT protocols this encoder is transferred with (mimb-pipeline),
# paths relative to this file, and the smoke variant used by --smoke.
mimb_downstream = dict(
    finetune='../benchmarks/vit/vit-base-p16_8xb128-coslr-100e_in1k.py',
    linear='../benchmarks/vit/vit-base-p16_8xb2048-linear-coslr-90e_in1k.py',
    knn='../benchmarks/vit/vit-base-p16_knn-k20_in1k.py',
    det='../benchmarks/vit/'
    'mask-rcnn_vit-base-p16-sfp_8xb8-amp-lsj-100e_coco.py',
    seg='../benchmarks/vit/'
    'upernet_vit-base-p16-mln_8xb2-amp-160k_ade20k-512x512.py')
mimb_smoke = './mae_vit-tiny-p4_1xb32-coslr-30e_tiny-in1k-32px.py'
