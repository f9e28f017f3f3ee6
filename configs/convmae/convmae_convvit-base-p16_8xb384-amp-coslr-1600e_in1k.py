# ConvMAE-B, 1600 epochs: the published recipe (Alpha-VL/ConvMAE
# PRETRAIN.md: 3 nodes x 8 GPUs x 128 = 3072 images/iter, here 8 GPUs x 384),
# ConvViT-B encoder (256/384/768 channels, 2/2/11 blocks, 12 heads), block-wise
# 75% masking on the 14 x 14 stage-3 grid with masked convolution in stages
# 1-2, multi-scale fusion, decoder 512 x 8 (16 heads), norm_pix MSE on the
# hidden 16 x 16 patches; AdamW betas (0.9, 0.95), wd 0.05 (none on 1-D
# parameters), lr = 1.5e-4 * 3072 / 256, 40 warm-up epochs then cosine,
# RandomResizedCrop(224, 0.2-1) + flip, bf16 AMP. The algorithm is
# mmpretrain's MAE with ConvMAE's encoder and decoder.
_base_ = '../mae/mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k.py'
model = dict(
    type='MAE',
    backbone=dict(_delete_=True, type='ConvMAEViT', arch='base',
                  img_size=224, mask_ratio=0.75),
    neck=dict(type='ConvMAEDecoder', num_patches=196, patch_size=16,
              embed_dim=768, decoder_embed_dim=512, decoder_depth=8,
              decoder_num_heads=16),
    head=dict(type='MAEPretrainHead', norm_pix=True, patch_size=16))
train_dataloader = dict(batch_size=384)
optim_wrapper = dict(
    optimizer=dict(lr=1.5e-4 * 3072 / 256),
    paramwise_cfg=dict(
        _delete_=True,
        flat_decay_mult=0.0,
        custom_keys={'pos_embed': dict(decay_mult=0.),
                     'mask_token': dict(decay_mult=0.)}))
auto_scale_lr = dict(base_batch_size=3072)
mimb_downstream = dict(
    finetune='../benchmarks/convvit/convvit-base-p16_8xb128-coslr-100e_in1k.py',
    linear='../benchmarks/convvit/'
    'convvit-base-p16_8xb2048-linear-coslr-90e_in1k.py',
    knn='../benchmarks/convvit/convvit-base-p16_knn-k20_in1k.py',
    det='../benchmarks/convvit/'
    'mask-rcnn_convvit-base-p16-fpn_8xb4-amp-lsj-25e_coco.py',
    seg='../benchmarks/convvit/'
    'upernet_convvit-base-p16_8xb2-amp-160k_ade20k-512x512.py')
mimb_smoke = './convmae_convvit-tiny_1xb32-coslr-30e_tiny-in1k-64px.py'
