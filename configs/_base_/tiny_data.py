# The tiny data sets written by `mimb-data --out data/tiny` (ImageNet: 8
# classes of shapes, 64 px; COCO and ADE20K: 128 px scenes of the same 8
# shapes over textures) and the tiny plain ViT that every smoke config of the
# ViT family uses (4 layers, 64-d, 4 px patches: an 8 x 8 grid on 32 px
# classification crops, 32 x 32 on 128 px dense inputs). Smoke configs
# inherit this after their real recipe.
tiny_imagenet_root = 'data/tiny/imagenet/'
tiny_classes = ('circle', 'square', 'triangle', 'diamond', 'cross', 'star',
                'hexagon', 'bar')
tiny_num_classes = 8
tiny_img_size = 32
tiny_patch_size = 4
# `_delete_` because it replaces an arch name ('b', 'base') of the recipe.
tiny_vit_arch = dict(
    _delete_=True,
    embed_dims=64,
    num_layers=4,
    num_heads=4,
    feedforward_channels=256)
tiny_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=37, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs'),
]
tiny_coco_root = 'data/tiny/coco/'
# The tiny COCO annotates the 8 shapes as real COCO categories (the files
# list all 80 with their ids; benchmarks/tiny_data.py SHAPE_COCO), these in
# id order; the smoke detectors train on them.
tiny_coco_classes = ('airplane', 'stop sign', 'frisbee', 'sports ball',
                     'kite', 'baseball bat', 'pizza', 'tv')
tiny_coco_val_ann = tiny_coco_root + 'annotations/instances_val2017.json'
tiny_ade_root = 'data/tiny/ade/ADEChallengeData2016/'
tiny_dense_size = 128
# The tiny ConvViT of the ConvMAE-family smoke configs (strides 4, 8, 16; a
# 4 x 4 stage-3 grid on 64 px classification crops).
tiny_convvit_arch = dict(
    _delete_=True,
    embed_dims=[32, 48, 64],
    depths=[1, 1, 2],
    num_heads=4,
    mlp_ratios=[4, 4, 4])
tiny_convvit_size = 64
tiny_convvit_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=73, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=64),
    dict(type='PackInputs'),
]
# The micro coordinate-aware Swin of the Swin-family smoke configs (UM-MAE,
# SimMIM): 32-d stage 1, 1/1/2/1 blocks, 32-d heads, window 8; pretrained
# on 128 px crops (an 8 x 8 masking grid of 16 px patches), transferred at
# the classification and dense sizes above.
tiny_swin_arch = dict(
    embed_dims=32,
    depths=[1, 1, 2, 1],
    num_heads=[1, 2, 4, 8])
tiny_swin_pretrain_size = 128
# The smoke pretraining schedule every method's smoke run shares: 30 epochs
# of 10 iterations (batch 32 of the 320 tiny images), 3 warm-up epochs then
# cosine, AdamW at the recipes' blr 1.5e-4 * 32 / 256, times 10 because the
# run is 30 epochs instead of hundreds, no AMP (CPU), a checkpoint every 10
# epochs.
tiny_pretrain_epochs = 30
tiny_pretrain_optimizer = dict(
    type='AdamW', lr=1.5e-4 * 32 / 256 * 10, betas=(0.9, 0.95),
    weight_decay=0.05)
tiny_pretrain_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=3,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=27, by_epoch=True, begin=3,
         end=30, convert_to_iter_based=True),
]
tiny_pretrain_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=10, max_keep_ckpts=1))
