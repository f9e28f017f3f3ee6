# Weighted kNN (k=20, T=0.07, cosine) top-1 on frozen features of a
# plain-ViT-B/16 encoder: the cls token after the final norm, bank = the
# ImageNet train split, queries = val, both resized to 256 and centre-cropped
# to 224. mmpretrain has no kNN for ViTs; backbones.engine.knn.KNNTestLoop does it.
# Run: mim test mmpretrain <this config> --checkpoint <pretrain checkpoint>
_base_ = ['mmpretrain::_base_/default_runtime.py',
          '../../_base_/mimb_runtime.py']
mimb_stage = 'knn'
data_root = 'data/imagenet/'
data_preprocessor = dict(
    num_classes=1000,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VisionTransformer',
        arch='base',
        img_size=224,
        patch_size=16,
        out_type='cls_token',
        final_norm=True),
    neck=None,
    head=None)
knn_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
test_dataloader = dict(
    batch_size=256,
    num_workers=8,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CheckedImageNet', data_root=data_root, split='val',
                 pipeline=knn_pipeline))
test_evaluator = dict(type='Accuracy', topk=(1, 5), prefix='knn')
test_cfg = dict(
    type='KNNTestLoop',
    k=20,
    temperature=0.07,
    bank_dataloader=dict(
        batch_size=256,
        num_workers=8,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(type='CheckedImageNet', data_root=data_root,
                     split='train', pipeline=knn_pipeline)))
